export const actions = {
  default: async ({ request }) => {
    const data = await request.formData()
    return { ok: true, name: data.get('name') }
  },
}
