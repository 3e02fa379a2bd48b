// Prints {"name": "version", ...}: for each package named on the command line, the newest
// stable release (at most its `latest` tag) whose `engines.node` accepts the Node.js running
// this script. "Current release" means the newest one that runs here: SvelteKit 3 and
// webpack-dev-server 6, say, need a newer Node than Debian's.
// Needs `semver`, which scripts/compat installs into the cache beside playwright-core.
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'

const require = createRequire(process.env.COMPAT_TOOLS + '/package.json')
const semver = require('semver')

function view(args) {
  const out = execFileSync('npm', ['view', ...args, '--json'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  })
  return out.trim() === '' ? undefined : JSON.parse(out)
}

function fits(range) {
  return !range || semver.satisfies(process.version, range, { includePrerelease: true })
}

const picked = {}
for (const name of process.argv.slice(2)) {
  const latest = view([`${name}@latest`, 'version'])
  const latestRange = view([`${name}@latest`, 'engines.node'])
  if (fits(typeof latestRange === 'string' ? latestRange : undefined)) {
    picked[name] = latest
    continue
  }
  // `npm view NAME@RANGE engines.node` prints one `NAME@VERSION 'RANGE'` line
  // per version that declares one; versions that declare none run anywhere.
  const ranges = new Map()
  const text = execFileSync('npm', ['view', `${name}@<=${latest}`, 'engines.node'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  })
  for (const line of text.split('\n')) {
    const m = line.match(/^(\S+)@(\S+) (?:engines\.node = )?'(.*)'$/)
    if (m) ranges.set(m[2], m[3])
  }
  const versions = view([name, 'versions'])
    .filter((v) => !semver.prerelease(v) && semver.lte(v, latest) && fits(ranges.get(v)))
    .sort(semver.rcompare)
  if (versions.length === 0) throw new Error(`${name}: no release runs on Node ${process.version}`)
  picked[name] = versions[0]
  process.stderr.write(
    `compat: ${name} ${latest} needs Node ${latestRange}, this is ${process.version}: using ${versions[0]}\n`,
  )
}
process.stdout.write(JSON.stringify(picked) + '\n')
