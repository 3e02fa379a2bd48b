import { message } from './message.js'

function render() {
  document.getElementById('hmr-text').textContent = message
}
render()

// Accept updates of message.js here: an edit is applied in place (HMR), not by a reload.
if (module.hot) {
  module.hot.accept('./message.js', render)
}
