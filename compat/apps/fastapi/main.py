from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse

app = FastAPI()

PAGE = """<!doctype html>
<title>FastAPI compat</title>
<h1 id="title">FastAPI compat</h1>
<p id="ws-result">waiting</p>
<script>
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws')
  ws.onopen = () => ws.send('ping from ' + location.host)
  ws.onmessage = (e) => { document.getElementById('ws-result').textContent = 'echo: ' + e.data }
  ws.onerror = () => { document.getElementById('ws-result').textContent = 'websocket error' }
</script>
"""


@app.get("/", response_class=HTMLResponse)
async def page():
    return PAGE


@app.websocket("/ws")
async def echo(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass
