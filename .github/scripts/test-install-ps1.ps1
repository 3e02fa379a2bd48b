# install.ps1 for real, the way the README runs it, against a local mirror of the release
# files: install, upgrade in place (also while portproxy.exe runs), refuse a bad checksum,
# uninstall.
# Run by .github/workflows/ci.yml with $env:ENGINE = powershell (5.1) or pwsh (7).
$ErrorActionPreference = 'Stop'

. (Join-Path $PSScriptRoot 'common.ps1')

# install.ps1 the documented way (its text into Invoke-Expression), in a new process.
function Invoke-Installer([string]$dir) {
    $env:PORTPROXY_INSTALL_DIR = $dir
    $command = "Invoke-Expression (Get-Content -Raw -LiteralPath '$PWD\install.ps1')"
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($command))
    $text = & $env:ENGINE -NoProfile -ExecutionPolicy Bypass -EncodedCommand $encoded 2>&1 | Out-String
    $code = $LASTEXITCODE
    Write-Host $text
    return @{ Code = $code; Text = $text }
}
function Get-UserPath {
    (Get-Item 'HKCU:\Environment').GetValue('Path', '', 'DoNotExpandEnvironmentNames') -split ';'
}

Write-Host "engine: $env:ENGINE $(& $env:ENGINE -NoProfile -Command '$PSVersionTable.PSVersion.ToString()')"
$mirror = Join-Path $env:RUNNER_TEMP 'mirror'
New-Item -ItemType Directory -Force -Path $mirror | Out-Null
$name = 'portproxy-x86_64-pc-windows-msvc.zip'
$zip = Join-Path $mirror $name
Compress-Archive -Force -Path 'target\release\portproxy.exe', 'Caddyfile' -DestinationPath $zip
$hex = (Get-FileHash -Algorithm SHA256 $zip).Hash.ToLowerInvariant()
Set-Content -NoNewline -Path "$zip.sha256" -Value "$hex *$name`n"

$server = Start-Mirror $mirror 8765
try {
    # Caddy comes from its real GitHub release.
    $env:PORTPROXY_DOWNLOAD_URL = 'http://127.0.0.1:8765'
    $dir = Join-Path $env:RUNNER_TEMP 'portproxy-bin'
    $exe = Join-Path $dir 'portproxy.exe'

    $r = Invoke-Installer $dir
    Check ($r.Code -eq 0) 'install.ps1 succeeds'
    $version = & $exe --version
    Check (($LASTEXITCODE -eq 0) -and (@($version)[0] -match '^portproxy \d')) "portproxy.exe --version: $version"
    $caddy = & (Join-Path $dir 'caddy.exe') version
    Check (($LASTEXITCODE -eq 0) -and ($caddy -match '^v2\.')) "caddy.exe version: $caddy"
    Check (-not (Test-Path (Join-Path $env:APPDATA 'portproxy\Caddyfile'))) 'no Caddyfile template is placed (run writes its own)'
    Check ((Get-UserPath) -contains $dir) 'the HKCU Path has the install dir'
    Check ((Get-Item 'HKCU:\Environment').GetValueKind('Path') -eq 'ExpandString') 'the HKCU Path stays REG_EXPAND_SZ'

    # A running portproxy.exe can't be overwritten: the upgrade moves it aside.
    $serve = Start-Process -FilePath $exe -ArgumentList 'serve' -PassThru -WindowStyle Hidden
    Start-Sleep -Seconds 2
    Check (-not $serve.HasExited) 'portproxy serve keeps running'
    $r = Invoke-Installer $dir
    Check ($r.Code -eq 0) 're-running while portproxy runs succeeds'
    Check (@(Get-ChildItem -Path $dir -Filter 'portproxy.exe.*.old').Count -eq 1) 'the running portproxy.exe was moved aside'
    Stop-Process -Id $serve.Id -Force
    $serve.WaitForExit()
    $r = Invoke-Installer $dir
    Check ($r.Code -eq 0) 're-running again succeeds'
    Check (@(Get-ChildItem -Path $dir -Filter '*.old').Count -eq 0) 'what was moved aside is gone once nothing runs it'
    & $exe --version | Out-Null
    Check ($LASTEXITCODE -eq 0) 'the upgraded portproxy.exe runs'
    Check (@(Get-UserPath | Where-Object { $_ -eq $dir }).Count -eq 1) 'the HKCU Path has the dir once'

    $good = Get-Content -Raw "$zip.sha256"
    Set-Content -NoNewline -Path "$zip.sha256" -Value (('0' * 64) + $good.Substring(64))
    $fresh = Join-Path $env:RUNNER_TEMP 'portproxy-tampered'
    $r = Invoke-Installer $fresh
    Check ($r.Code -ne 0) 'a wrong checksum fails the install'
    Check ($r.Text -match 'checksum mismatch') 'and says so'
    Check (-not (Test-Path $fresh)) 'and installs nothing'
    Check (-not ((Get-UserPath) -contains $fresh)) 'and leaves the Path alone'

    # Uninstall takes back a second install (the first stays for the next CI step).
    $other = Join-Path $env:RUNNER_TEMP 'portproxy-uninstalled'
    Set-Content -NoNewline -Path "$zip.sha256" -Value $good
    $r = Invoke-Installer $other
    Check ($r.Code -eq 0) 'a second install succeeds'
    $env:PORTPROXY_UNINSTALL = '1'
    $r = Invoke-Installer $other
    Remove-Item Env:PORTPROXY_UNINSTALL
    Check ($r.Code -eq 0) 'PORTPROXY_UNINSTALL=1 succeeds'
    Check (-not (Test-Path $other)) 'and removes portproxy.exe, its Caddy and the folder'
    Check (-not ((Get-UserPath) -contains $other)) 'and its Path entry'
    Check ((Get-UserPath) -contains $dir) 'and leaves the other install on the Path'
    Check ($r.Text -match 'kept your settings') 'and says what it kept'
    Add-Content -Path $env:GITHUB_ENV -Value "PORTPROXY_TEST_DIR=$dir"
}
finally {
    Stop-Process -Id $server.Id -Force -ErrorAction SilentlyContinue
}
