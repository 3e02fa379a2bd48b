// Drives Debian's Chromium (through playwright-core) through one framework's checks on every
// URL form. compat.py starts the dev server and the portproxies and passes a JSON config as
// the only argument; each result is one JSON line on stdout: {form, check, ok, detail}.
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'

const require = createRequire(process.env.COMPAT_TOOLS + '/package.json')
const { chromium } = require('playwright-core')

const cfg = JSON.parse(process.argv[2])
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const log = (...args) => process.stderr.write(`compat[${cfg.framework}]: ${args.join(' ')}\n`)

function report(form, check, ok, detail = '') {
  const line = { form: form.form, check, ok, detail: String(detail).slice(0, 600) }
  log(ok ? 'pass' : 'FAIL', form.form, check, ok ? '' : detail)
  process.stdout.write(JSON.stringify(line) + '\n')
}

// Every page records what would show a failure: console lines, page errors, its WebSockets,
// and any request that went straight to the dev server's port instead of through portproxy
// (Vite, for one, falls back to a direct connection when its proxied WebSocket fails).
function instrument(page) {
  const rec = { console: [], errors: [], sockets: [], direct: [] }
  const isDirect = (u) => {
    try {
      return new URL(u).port === String(cfg.devPort)
    } catch {
      return false
    }
  }
  page.on('console', (m) => rec.console.push(`${m.type()}: ${m.text()}`))
  page.on('pageerror', (e) => rec.errors.push(String(e)))
  page.on('websocket', (ws) => {
    const s = { url: ws.url(), closed: false }
    rec.sockets.push(s)
    ws.on('close', () => (s.closed = true))
    if (isDirect(ws.url())) rec.direct.push(ws.url())
  })
  page.on('request', (r) => isDirect(r.url()) && rec.direct.push(r.url()))
  return rec
}

function diagnostics(rec) {
  const parts = []
  if (rec.direct.length) parts.push(`went around portproxy: ${rec.direct.slice(0, 3).join(' ')}`)
  if (rec.errors.length) parts.push(`page errors: ${rec.errors.slice(-3).join(' | ')}`)
  const noisy = rec.console.filter((l) => /error|warn|fail|blocked|invalid/i.test(l))
  if (noisy.length) parts.push(`console: ${noisy.slice(-4).join(' | ')}`)
  parts.push(`websockets: ${rec.sockets.map((s) => s.url + (s.closed ? ' (closed)' : '')).join(' ') || 'none'}`)
  return parts.join('; ')
}

async function text(page, selector, want, timeout) {
  try {
    await page.waitForFunction(
      ([s, t]) => (document.querySelector(s)?.textContent || '').includes(t),
      [selector, want],
      { timeout },
    )
  } catch (e) {
    const got = await page
      .evaluate((s) => document.querySelector(s)?.textContent ?? '(no such element)', selector)
      .catch(() => '(page gone)')
    const body = await page.evaluate(() => document.body?.innerText || '').catch(() => '')
    throw new Error(
      `${selector} should say ${JSON.stringify(want)}, says ${JSON.stringify(got.slice(0, 120))}` +
        ` at ${page.url()}; page text: ${JSON.stringify(body.slice(0, 200))}`,
    )
  }
}

async function expectOnPublicOrigin(page, form) {
  const want = new URL(form.url).origin
  const got = new URL(page.url()).origin
  if (got !== want) throw new Error(`ended on ${page.url()}, not on ${want}`)
}

// The HMR WebSocket is open and goes through portproxy (the public host).
async function hmrSocket(page, form, rec, pathPart) {
  const host = new URL(form.url).host
  const deadline = Date.now() + 30000
  while (Date.now() < deadline) {
    const s = rec.sockets.find(
      (s) => !s.closed && new URL(s.url).host === host && new URL(s.url).pathname.includes(pathPart),
    )
    if (s) return s
    await sleep(200)
  }
  throw new Error(`no open HMR WebSocket (${pathPart}) to ${host}`)
}

// Each edit swaps one 10-character word for another ('hmr-before' -> 'hmr-form-0' ...) and
// writes the file with one write at offset 0 and no truncation: a watcher can never read it
// empty or half-written (fs.writeFileSync truncates first, and a watcher that reads in that
// gap serves an empty module, which is the test's fault, not the proxy's).
const word = (label) => `hmr-${label}`.padEnd(10, '-').slice(0, 10)
function swapWord(file, before, after) {
  const full = path.join(cfg.app, file)
  const source = fs.readFileSync(full, 'utf8')
  if (!source.includes(before)) throw new Error(`${file} lacks ${before}`)
  const buf = Buffer.from(source.replace(before, after))
  if (buf.length !== Buffer.byteLength(source)) throw new Error(`${after}: not ${before.length} characters`)
  const fd = fs.openSync(full, 'r+')
  try {
    fs.writeSync(fd, buf, 0, buf.length, 0)
  } finally {
    fs.closeSync(fd)
  }
  current[file] = after
}

// Edit a source file in place (a unique word for a unique one) and see the page follow
// without reloading: a marker set on window survives only a hot update.
const current = {}
async function hotEdit(page, form, rec, file, wsPath, next) {
  const socket = await hmrSocket(page, form, rec, wsPath)
  await sleep(300)
  await page.evaluate(() => (window.__compatMarker = 'kept'))
  swapWord(file, current[file] || 'hmr-before', next)
  await text(page, '#hmr-text', next, 45000)
  const marker = await page.evaluate(() => window.__compatMarker)
  if (marker !== 'kept') throw new Error('the page reloaded instead of taking a hot update')
  if (socket.closed) throw new Error(`the HMR WebSocket closed: ${socket.url}`)
  if (rec.direct.length) throw new Error(`requests went around portproxy: ${rec.direct[0]}`)
  return socket
}

async function signIn(page, form) {
  const resp = await page.goto(form.url)
  const at = new URL(page.url())
  if (!at.pathname.startsWith('/login')) {
    throw new Error(`expected portproxy's sign-in page, got ${page.url()} (${resp?.status()})`)
  }
  await page.fill('input[name=token]', form.token)
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 30000 }),
    page.click('button[type=submit]'),
  ])
}

// A share link's first visit trades its secret for the share's cookie (portproxy's 303) and
// lands on the app's `/` without the secret in the address bar; the checks then browse the
// link's origin. What `/` answers is the app's own business (Django's project has no `/`: 404).
async function openShare(page, form) {
  const resp = await page.goto(form.link)
  // The link's own request: the first of the redirect chain (the app may redirect `/` too,
  // as JupyterLab does to /lab).
  let first = resp?.request()
  while (first?.redirectedFrom()) first = first.redirectedFrom()
  const traded = first && (await first.response())?.status()
  if (traded !== 303) throw new Error(`the share link: HTTP ${traded ?? resp?.status()}, not 303 to the app`)
  if (resp.status() >= 500) throw new Error(`the share link landed on HTTP ${resp.status()}`)
  if (page.url().includes('portproxy-share=')) throw new Error(`the secret stayed in ${page.url()}`)
  const cookies = await page.context().cookies()
  if (!cookies.some((c) => c.name.startsWith('portproxy-share-'))) throw new Error('no share cookie')
}

async function open(page, form, rec) {
  if (form.token) await signIn(page, form)
  if (form.link) await openShare(page, form)
  const resp = await page.goto(form.url)
  if (!resp) throw new Error('no response')
  if (resp.status() >= 400) {
    const body = await resp.text().catch(() => '')
    throw new Error(`HTTP ${resp.status()}: ${body.slice(0, 200)}`)
  }
  return resp
}

const post = (page) =>
  page.waitForResponse((r) => r.request().method() === 'POST' && r.request().isNavigationRequest())

async function formPost(page, form, selector, resultText) {
  const [resp] = await Promise.all([post(page), page.click(selector)])
  if (resp.status() >= 400) {
    const body = await resp.text().catch(() => '')
    throw new Error(`POST ${resp.url()}: HTTP ${resp.status()}: ${body.replace(/\s+/g, ' ').slice(0, 300)}`)
  }
  await text(page, '#form-result', resultText, 30000)
  await expectOnPublicOrigin(page, form)
}

// -------------------------------------------------------------------------------------
// The checks, by framework; names match compat.py's FRAMEWORKS[...].checks.

const checks = {
  vite: {
    page: async (page, form, rec) => {
      await open(page, form, rec)
      await text(page, '#title', 'Vite compat', 15000)
      await text(page, '#hmr-text', current['message.js'] || 'hmr-before', 15000)
    },
    'HMR over WebSocket': async (page, form, rec) => {
      form.socket = await hotEdit(page, form, rec, 'message.js', '/', word(`form-${form.index}`))
    },
    // Run once for all forms, after every page has been opened: see idle() below.
    'HMR after idle': null,
  },
  next: {
    page: async (page, form, rec) => {
      await open(page, form, rec)
      await text(page, '#title', 'Next compat', 60000)
    },
    'Fast Refresh': async (page, form, rec) => {
      await page.click('#inc') // hydrated: the counter counts
      await text(page, '#inc', 'count 1', 30000)
      await hotEdit(page, form, rec, 'app/counter.js', '/_next/', word(`form-${form.index}`))
      await text(page, '#inc', 'count 1', 5000) // Fast Refresh keeps component state
    },
    'Server Action': async (page) => {
      await page.click('#action-btn')
      await page.waitForFunction(() => document.querySelector('#action-result')?.textContent, null, {
        timeout: 60000,
      })
      await text(page, '#action-result', 'action ok: portproxy', 1000)
    },
    'Route Handler POST': async (page) => {
      const [status, body] = await page.evaluate(async () => {
        const r = await fetch('/api/echo', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ msg: 'hello' }),
        })
        return [r.status, await r.text()]
      })
      if (status !== 200 || JSON.parse(body).echo !== 'hello') {
        throw new Error(`POST /api/echo: HTTP ${status}: ${body.slice(0, 200)}`)
      }
    },
    'form POST': async (page, form) => {
      await formPost(page, form, '#form-submit', 'form ok: portproxy')
    },
  },
  sveltekit: {
    page: async (page, form, rec) => {
      await open(page, form, rec)
      await text(page, '#title', 'SvelteKit compat', 30000)
    },
    HMR: async (page, form, rec) => {
      await hotEdit(page, form, rec, 'src/routes/+page.svelte', '/', word(`form-${form.index}`))
    },
    'form action POST': async (page, form) => {
      await formPost(page, form, '#form-submit', 'form ok: portproxy')
    },
  },
  webpack: {
    'page (no Invalid Host header)': async (page, form, rec) => {
      await open(page, form, rec)
      const body = await page.evaluate(() => document.body?.innerText || '')
      if (body.includes('Invalid Host header')) throw new Error('webpack said "Invalid Host header"')
      await text(page, '#title', 'webpack compat', 15000)
      await text(page, '#hmr-text', current['src/message.js'] || 'hmr-before', 15000)
    },
    'HMR over WebSocket': async (page, form, rec) => {
      await hotEdit(page, form, rec, 'src/message.js', '/ws', word(`form-${form.index}`))
    },
  },
  django: {
    'CSRF form POST': async (page, form, rec) => {
      await open(page, { ...form, url: new URL('/form/', form.url).href }, rec)
      await text(page, '#title', 'Django compat', 15000)
      await formPost(page, form, '#form-submit', 'form ok: portproxy')
    },
    'admin login': async (page, form) => {
      await page.goto(new URL('/admin/', form.url).href)
      if (!new URL(page.url()).pathname.startsWith('/admin/login/')) {
        throw new Error(`/admin/ should send to /admin/login/, went to ${page.url()}`)
      }
      await page.fill('#id_username', cfg.extra.username)
      await page.fill('#id_password', cfg.extra.password)
      const [resp] = await Promise.all([post(page), page.click('input[type=submit]')])
      if (resp.status() >= 400) throw new Error(`login POST: HTTP ${resp.status()}`)
      await text(page, 'body', 'Site administration', 15000)
      await expectOnPublicOrigin(page, form)
    },
  },
  jupyter: {
    'open notebook': async (page, form, rec) => {
      const url = new URL(`/lab/tree/compat.ipynb?token=${cfg.extra.token}`, form.url).href
      await open(page, { ...form, url }, rec)
      await page.waitForSelector('.jp-Notebook .jp-Cell .cm-content', { timeout: 90000 })
      await text(page, '.jp-Notebook .jp-Cell .cm-content', "print('cell ok'", 10000)
      await expectOnPublicOrigin(page, form)
    },
    'run a cell': async (page, form, rec) => {
      // Run the cell as a user would (click, Shift+Enter) once the kernel is idle. A press
      // that lands while JupyterLab is still wiring the kernel up is dropped without a trace
      // (the prompt stays "[ ]:"), so try up to three times; the output must come back through
      // the kernel's WebSocket either way.
      const cell = '.jp-Notebook .jp-Cell:first-child'
      let lastError
      for (let attempt = 1; attempt <= 3; attempt++) {
        await page.waitForFunction(
          () => /\|\s*Idle/.test(document.querySelector('#jp-main-statusbar')?.textContent || ''),
          null,
          { timeout: 90000 },
        )
        await page.click(`${cell} .cm-content`)
        await page.keyboard.press('Shift+Enter')
        try {
          await text(page, `${cell} .jp-OutputArea-output`, 'cell ok 42', 30000)
          lastError = null
          break
        } catch (e) {
          lastError = e
          const prompt = await page.textContent(`${cell} .jp-InputPrompt`).catch(() => '')
          log(`run a cell, attempt ${attempt}: prompt ${JSON.stringify(prompt)}`)
          if (!/\[\s*\]/.test(prompt || '')) break // it ran (or is running): no second try
        }
      }
      if (lastError) throw lastError
      const host = new URL(form.url).host
      if (!rec.sockets.some((s) => new URL(s.url).host === host && s.url.includes('/api/kernels/'))) {
        throw new Error('no kernel WebSocket through portproxy')
      }
    },
  },
  fastapi: {
    page: async (page, form, rec) => {
      await open(page, form, rec)
      await text(page, '#title', 'FastAPI compat', 15000)
    },
    'WebSocket echo': async (page, form) => {
      await text(page, '#ws-result', `echo: ping from ${new URL(form.url).host}`, 15000)
    },
  },
}

// Vite: after every page has been opened and hot-updated once, wait (default 70 s, past
// Pingora's 60 s idle cut-off) with nothing on the WebSockets, then edit again: each page must
// still take the update over the same WebSocket.
async function idle(opened) {
  const live = opened.filter((o) => o.form.socket)
  if (live.length) {
    log(`idle for ${cfg.idleSecs}s`)
    await sleep(cfg.idleSecs * 1000)
    swapWord('message.js', current['message.js'], word('idle'))
  }
  for (const { page, form, rec, failed } of opened) {
    if (!form.socket) {
      report(form, 'HMR after idle', false, `not run: ${failed || 'no HMR WebSocket'}`)
      continue
    }
    try {
      await text(page, '#hmr-text', word('idle'), 30000)
      if ((await page.evaluate(() => window.__compatMarker)) !== 'kept') {
        throw new Error('the page reloaded instead of taking a hot update')
      }
      if (form.socket.closed) throw new Error(`the HMR WebSocket closed while idle: ${form.socket.url}`)
      report(form, 'HMR after idle', true, `${cfg.idleSecs}s idle`)
    } catch (e) {
      report(form, 'HMR after idle', false, `${e.message}; ${diagnostics(rec)}`)
    }
  }
}

async function main() {
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    // A public domain on this machine: PORT.dev.test and dev.test go to loopback.
    '--host-resolver-rules=MAP *.dev.test 127.0.0.1, MAP dev.test 127.0.0.1',
  ]
  // launch() gives the browser a fresh profile of its own; each URL form gets its own context
  // (its own cookie jar: cookies ignore ports and, Secure aside, schemes, so one form's
  // session would otherwise sign the next in, or be replaced by it under an open page).
  const browser = await chromium.launch({
    executablePath: cfg.chromium,
    headless: true,
    args,
    // HOME holds the NSS database that trusts Caddy's local CAs, nothing more.
    env: { ...process.env, HOME: cfg.home },
    timeout: 60000,
  })
  const table = checks[cfg.framework]
  const opened = []
  try {
    for (const [index, f] of cfg.forms.entries()) {
      const form = { ...f, index }
      const context = await browser.newContext()
      context.setDefaultTimeout(30000)
      const page = await context.newPage()
      const rec = instrument(page)
      let failed = null
      for (const name of cfg.checks) {
        const fn = table[name]
        if (fn === null) continue
        if (failed) {
          report(form, name, false, `not run: ${failed}`)
          continue
        }
        const started = Date.now()
        try {
          await fn(page, form, rec)
          report(form, name, true, `${((Date.now() - started) / 1000).toFixed(1)}s`)
        } catch (e) {
          // The first check opens the app; the others stand on their own.
          if (name === cfg.checks[0]) failed = `${name} failed`
          report(form, name, false, `${e.message.split('\n')[0]}; ${diagnostics(rec)}`)
          await page
            .screenshot({ path: `${cfg.shots}-${form.index}.png` })
            .catch(() => {})
        }
      }
      if (cfg.framework === 'vite') opened.push({ page, form, rec, failed })
      else await context.close()
    }
    if (cfg.framework === 'vite') await idle(opened)
  } finally {
    await browser.close()
  }
}

main().catch((e) => {
  log('driver error:', e.stack || e)
  process.exit(1)
})
