// A plain HTML form POST; the 303 names the app's own origin, which portproxy must point
// back at the public URL.
export async function POST(request) {
  const form = await request.formData()
  const url = new URL(`/done?name=${encodeURIComponent(form.get('name'))}`, request.url)
  return Response.redirect(url, 303)
}
