'use client'
import { useState } from 'react'
import { greet } from './actions'

export default function ActionButton() {
  const [result, setResult] = useState('')
  return (
    <div>
      <button
        id="action-btn"
        onClick={async () => {
          try {
            setResult(await greet('portproxy'))
          } catch (e) {
            setResult(`action error: ${e}`)
          }
        }}
      >
        Run the Server Action
      </button>
      <p id="action-result">{result}</p>
    </div>
  )
}
