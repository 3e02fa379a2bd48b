'use server'

export async function greet(name) {
  return `action ok: ${name}`
}
