import { message } from './message.js'

function render(text) {
  document.getElementById('hmr-text').textContent = text
}
render(message)

// Accept updates of message.js here: an edit is applied in place (HMR), not by a reload.
if (import.meta.hot) {
  import.meta.hot.accept('./message.js', (mod) => mod && render(mod.message))
}
