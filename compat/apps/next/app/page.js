import Counter from './counter'
import ActionButton from './action-button'

export default function Page() {
  return (
    <main>
      <h1 id="title">Next compat</h1>
      <Counter />
      <ActionButton />
      <form method="post" action="/api/form">
        <input name="name" defaultValue="portproxy" />
        <button id="form-submit" type="submit">Send</button>
      </form>
    </main>
  )
}
