'use client'
import { useState } from 'react'

export default function Counter() {
  const [count, setCount] = useState(0)
  return (
    <div>
      <p id="hmr-text">hmr-before</p>
      <button id="inc" onClick={() => setCount(count + 1)}>
        count {count}
      </button>
    </div>
  )
}
