export default async function Done({ searchParams }) {
  const { name } = await searchParams
  return <p id="form-result">form ok: {name}</p>
}
