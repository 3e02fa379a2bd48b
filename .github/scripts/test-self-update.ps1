# `portproxy self-update` on Windows against a fake GitHub API (static files on loopback):
# the flat zip, the .exe swapped while `portproxy serve` runs from it, a wrong digest refused.
# Run by .github/workflows/ci.yml after `cargo build --release`.
$ErrorActionPreference = 'Stop'

. (Join-Path $PSScriptRoot 'common.ps1')

$work = Join-Path $env:RUNNER_TEMP 'self-update'
New-Item -ItemType Directory -Force -Path $work | Out-Null
$current = (Select-String -Path Cargo.toml -Pattern '^version = "(.*)"$' | Select-Object -First 1).Matches[0].Groups[1].Value
$repository = (Select-String -Path Cargo.toml -Pattern '^repository = "https://github.com/(.*)"$').Matches[0].Groups[1].Value
$parts = $current.Split('.')
$next = "$($parts[0]).$([int]$parts[1] + 1).0"

# The next release: this tree with its minor version bumped, built in the same target dir.
$old = Join-Path $work 'portproxy-old.exe'
Copy-Item 'target\release\portproxy.exe' $old
$manifest = Get-Content -Raw Cargo.toml
try {
    $bumped = $manifest -replace "(?m)^version = `"$([regex]::Escape($current))`"", "version = `"$next`""
    [IO.File]::WriteAllText((Join-Path $PWD 'Cargo.toml'), $bumped)
    cargo build --release --bin portproxy
    Check ($LASTEXITCODE -eq 0) "portproxy $next builds"
}
finally {
    [IO.File]::WriteAllText((Join-Path $PWD 'Cargo.toml'), $manifest)
    git checkout Cargo.lock
}

# The release as GitHub publishes it: a flat zip, sha256.sum, and the API's JSON.
$port = 8766
$api = "http://127.0.0.1:$port"
$root = Join-Path $work 'api'
$dl = Join-Path $root "dl\v$next"
$releases = Join-Path $root "repos\$repository\releases"
New-Item -ItemType Directory -Force -Path $dl, (Join-Path $releases 'tags') | Out-Null
$asset = 'portproxy-x86_64-pc-windows-msvc.zip'
$zip = Join-Path $dl $asset
Compress-Archive -Force -Path 'target\release\portproxy.exe', 'Caddyfile' -DestinationPath $zip
$hex = (Get-FileHash -Algorithm SHA256 $zip).Hash.ToLowerInvariant()
[IO.File]::WriteAllText((Join-Path $dl 'sha256.sum'), "$hex *$asset`n")
$sumsHex = (Get-FileHash -Algorithm SHA256 (Join-Path $dl 'sha256.sum')).Hash.ToLowerInvariant()

function Publish([string]$digest) {
    $release = @{
        tag_name   = "v$next"
        name       = "v$next"
        created_at = '2026-12-01T00:00:00Z'
        assets     = @(
            @{
                name   = $asset
                url    = "$api/dl/v$next/$asset"
                digest = "sha256:$digest"
            },
            @{
                name   = 'sha256.sum'
                url    = "$api/dl/v$next/sha256.sum"
                digest = "sha256:$sumsHex"
            }
        )
    } | ConvertTo-Json -Depth 5
    [IO.File]::WriteAllText((Join-Path $releases 'latest'), $release)
    [IO.File]::WriteAllText((Join-Path $releases "tags\v$next"), $release)
}

function Install-Old([string]$name) {
    $dir = Join-Path $work $name
    New-Item -ItemType Directory -Force -Path $dir | Out-Null
    $exe = Join-Path $dir 'portproxy.exe'
    Copy-Item $old $exe
    return $exe
}

$server = Start-Mirror $root $port
$serve = $null
try {
    $env:PORTPROXY_UPDATE_API_BASE = $api

    Publish $hex
    $exe = Install-Old 'ok'
    $serve = Start-Process -FilePath $exe -PassThru -WindowStyle Hidden `
        -ArgumentList 'serve', '--listen', '127.0.0.1:24400', '--admin', '127.0.0.1:24401'
    Start-Sleep -Seconds 2
    Check (-not $serve.HasExited) 'portproxy serve runs from the old binary'

    $check = & $exe self-update --check | Out-String
    Check ($check -match "portproxy $next is available") "--check: $check"
    $out = & $exe self-update --yes 2>&1 | Out-String
    Write-Host $out
    Check ($LASTEXITCODE -eq 0) 'self-update succeeds while portproxy serve runs'
    Check (@(& $exe --version)[0] -eq "portproxy $next") "the binary is now $next"
    Check (-not $serve.HasExited) 'portproxy serve is still running'
    $health = Invoke-WebRequest -UseBasicParsing -Uri 'http://127.0.0.1:24401/healthz'
    Check ($health.StatusCode -eq 200) 'and still answers'
    $again = & $exe self-update --yes | Out-String
    Check ($again -match 'is up to date') "a second run: $again"

    Publish ('0' * 64)
    $exe = Install-Old 'tampered'
    $before = (Get-FileHash $exe).Hash
    $out = & $exe self-update --yes 2>&1 | Out-String
    Write-Host $out
    Check ($LASTEXITCODE -eq 2) 'a wrong digest fails the update'
    Check ($out -match 'failed verification') 'and says so'
    Check ((Get-FileHash $exe).Hash -eq $before) 'and leaves the binary alone'
}
finally {
    if ($serve) {
        Stop-Process -Id $serve.Id -Force -ErrorAction SilentlyContinue
    }
    Stop-Process -Id $server.Id -Force -ErrorAction SilentlyContinue
}
