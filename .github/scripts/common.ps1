# What the CI test scripts share: a check that says what it checked, and a loopback web
# server for a folder of release files (dot-sourced by test-*.ps1).

function Check([bool]$ok, [string]$what) {
    if (-not $ok) {
        throw "FAILED: $what"
    }
    Write-Host "ok: $what"
}

# Serves $dir on 127.0.0.1:$port and returns the server process once it answers.
function Start-Mirror([string]$dir, [int]$port) {
    $server = Start-Process -FilePath python -PassThru -WindowStyle Hidden `
        -ArgumentList '-m', 'http.server', "$port", '--bind', '127.0.0.1', '--directory', $dir
    foreach ($i in 1..50) {
        try {
            Invoke-WebRequest -UseBasicParsing -Uri "http://127.0.0.1:$port/" | Out-Null
            return $server
        }
        catch {
            Start-Sleep -Milliseconds 200
        }
    }
    throw "the mirror on port $port did not start"
}
