# Installs portproxy (and Caddy, for HTTPS) on Windows:
#   powershell -ExecutionPolicy ByPass -c "irm https://github.com/OWNER/portproxy/releases/latest/download/install.ps1 | iex"
# Parameters don't reach a script run through `iex`, so the environment is the interface:
#   PORTPROXY_VERSION, PORTPROXY_INSTALL_DIR (default %LOCALAPPDATA%\Programs\portproxy\bin),
#   PORTPROXY_DOWNLOAD_URL, PORTPROXY_NO_CADDY, PORTPROXY_CADDY_VERSION,
#   PORTPROXY_CADDY_DOWNLOAD_URL, PORTPROXY_NO_MODIFY_PATH, PORTPROXY_INSTALLER_GITHUB_BASE_URL,
#   PORTPROXY_ALLOW_HTTP_MIRROR (accept a mirror over plain http to another machine),
#   PORTPROXY_UNINSTALL (remove what it and `portproxy service install` added instead)
# Works in Windows PowerShell 5.1 and PowerShell 7; ARM64 runs the x64 build under emulation.

$ErrorActionPreference = 'Stop'
# Invoke-WebRequest's progress bar makes 5.1 downloads crawl.
$ProgressPreference = 'SilentlyContinue'
[Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12

function Install-Portproxy {
    $repository = 'https://github.com/OWNER/portproxy'
    # The Caddy it installs, and the oldest it accepts on PATH (Cargo.toml's
    # [package.metadata.portproxy]; a test holds every copy to it).
    $caddyPinned = '2.11.7'
    $caddyMinimum = '2.6.2'
    $target = 'x86_64-pc-windows-msvc'

    $arch = Get-OSArchitecture
    if (($arch -eq 'X64') -or ($arch -eq 'AMD64')) {
        $caddyArch = 'amd64'
    }
    elseif ($arch -eq 'ARM64') {
        $caddyArch = 'arm64'
        Write-Host 'portproxy-install: ARM64 Windows: portproxy is an x64 build and runs under emulation; Caddy is native'
    }
    else {
        throw "portproxy-install: no portproxy build for $arch Windows (x64 and ARM64 only)"
    }

    # dist's own installers read the same variable: where GitHub is (a mirror).
    $github = $env:PORTPROXY_INSTALLER_GITHUB_BASE_URL
    if (-not $github) {
        $github = 'https://github.com'
    }
    $releases = "$github/$($repository.Substring('https://github.com/'.Length))/releases"
    $version = $env:PORTPROXY_VERSION
    if ($version) {
        $version = $version.TrimStart('v')
        $base = "$releases/download/v$version"
    }
    else {
        $base = "$releases/latest/download"
    }
    if ($env:PORTPROXY_DOWNLOAD_URL) {
        $base = $env:PORTPROXY_DOWNLOAD_URL
    }
    $binDir = $env:PORTPROXY_INSTALL_DIR
    if (-not $binDir) {
        $binDir = Join-Path $env:LOCALAPPDATA 'Programs\portproxy\bin'
    }
    # A relative directory on PATH would follow the user around; .NET's own current directory
    # is not PowerShell's, hence the provider call.
    $binDir = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($binDir)
    $configDir = Join-Path $env:APPDATA 'portproxy'
    if ($env:PORTPROXY_UNINSTALL) {
        Uninstall-Portproxy $binDir $configDir
        return
    }

    # Mirrors serve the checksums beside the files: plain http only to this machine.
    Test-Source 'PORTPROXY_DOWNLOAD_URL' $env:PORTPROXY_DOWNLOAD_URL
    Test-Source 'PORTPROXY_INSTALLER_GITHUB_BASE_URL' $env:PORTPROXY_INSTALLER_GITHUB_BASE_URL
    if (-not $env:PORTPROXY_NO_CADDY) {
        Test-Source 'PORTPROXY_CADDY_DOWNLOAD_URL' $env:PORTPROXY_CADDY_DOWNLOAD_URL
    }
    Write-Host "portproxy-install: installing portproxy ($target) into $binDir"
    # Staged beside the install dir: what runs there runs once installed.
    New-Item -ItemType Directory -Force -Path $binDir | Out-Null
    $tmp = Join-Path $binDir (".portproxy-install-" + [Guid]::NewGuid())
    New-Item -ItemType Directory -Path $tmp | Out-Null
    try {
        $archive = "portproxy-$target.zip"
        Get-File "$base/$archive" (Join-Path $tmp $archive)
        Get-File "$base/$archive.sha256" (Join-Path $tmp "$archive.sha256")
        Test-Checksum 'SHA256' (Join-Path $tmp $archive) (Join-Path $tmp "$archive.sha256") $archive
        Expand-Archive -Force -Path (Join-Path $tmp $archive) -DestinationPath (Join-Path $tmp 'portproxy')
        # Run it before it replaces anything: a build this system cannot run stops here.
        $new = Join-Path $tmp 'portproxy\portproxy.exe'
        try {
            # The first line is `portproxy X.Y.Z`; the next ones name the build.
            $newVersion = @(& $new --version)[0]
        }
        catch {
            $newVersion = "$_"
        }
        if (-not ("$newVersion" -like 'portproxy *')) {
            throw "portproxy-install: the downloaded portproxy.exe does not run here: $newVersion; nothing was installed"
        }
        New-Item -ItemType Directory -Force -Path $binDir | Out-Null
        $exe = Join-Path $binDir 'portproxy.exe'
        Install-Exe $new $exe
        Write-Host "portproxy-install: installed $newVersion"

        if ($env:PORTPROXY_NO_CADDY) {
            Write-Host 'portproxy-install: skipping Caddy (PORTPROXY_NO_CADDY): portproxy will serve plain HTTP on 127.0.0.1:24306'
        }
        elseif ((Test-OurCaddy $configDir $binDir) -or -not (Test-Caddy $caddyMinimum)) {
            Install-Caddy $tmp $binDir $caddyPinned $caddyArch $configDir
        }
        else {
            Write-Host 'portproxy-install: using the Caddy already on PATH'
        }

        if ($env:PORTPROXY_NO_MODIFY_PATH) {
            if (($env:Path -split ';') -notcontains $binDir) {
                Write-Host "portproxy-install: $binDir is not on your PATH (PORTPROXY_NO_MODIFY_PATH); add it to use portproxy"
            }
        }
        else {
            Add-ToUserPath $binDir
            # Later steps of a GitHub Actions job see the new PATH through this file.
            if ($env:GITHUB_PATH) {
                [IO.File]::AppendAllText($env:GITHUB_PATH, "$binDir`n")
            }
        }
        Write-Host 'portproxy-install: next: open a new terminal and run `portproxy`, then https://PORT.localhost/'
    }
    finally {
        Remove-Item -Recurse -Force $tmp -ErrorAction SilentlyContinue
    }
}

# The OS's architecture, not this process's: a 32-bit or emulated PowerShell reports its own
# in PROCESSOR_ARCHITECTURE. RuntimeInformation needs .NET Framework 4.7.1+ under 5.1.
function Get-OSArchitecture {
    $info = 'System.Runtime.InteropServices.RuntimeInformation' -as [type]
    if ($info) {
        return $info::OSArchitecture.ToString()
    }
    if ($env:PROCESSOR_ARCHITEW6432) {
        return $env:PROCESSOR_ARCHITEW6432
    }
    return $env:PROCESSOR_ARCHITECTURE
}

# https, a local file:// folder, or plain http to this machine (127.0.0.0/8, [::1],
# localhost). Plain http elsewhere carries the files and their checksums alike past whoever is
# on the way: only with PORTPROXY_ALLOW_HTTP_MIRROR, and said.
function Test-Source([string]$name, [string]$url) {
    if ((-not $url) -or ($url -like 'https://*') -or ($url -like 'file://*')) {
        return
    }
    if (-not ($url -like 'http://*')) {
        throw "portproxy-install: $name ``$url`` is not an https:// (or file://) URL"
    }
    $uri = $null
    if ([Uri]::TryCreate($url, [UriKind]::Absolute, [ref]$uri) -and $uri.IsLoopback) {
        return
    }
    if ($env:PORTPROXY_ALLOW_HTTP_MIRROR) {
        Write-Host "portproxy-install: WARNING: $name is plain http to another machine ($url); accepted because PORTPROXY_ALLOW_HTTP_MIRROR is set: the files and their checksums are not protected on the way"
        return
    }
    throw "portproxy-install: $name is plain http to another machine (${url}): the checksums come the same way, so anyone on the network path could replace both; use https (plain http is accepted only for 127.0.0.1, [::1] and localhost), or set PORTPROXY_ALLOW_HTTP_MIRROR=1 to accept that risk"
}

function Get-File([string]$url, [string]$path) {
    foreach ($attempt in 1..3) {
        try {
            Invoke-WebRequest -UseBasicParsing -Uri $url -OutFile $path
            return
        }
        catch {
            if ($attempt -eq 3) {
                throw "portproxy-install: could not download ${url}: $_"
            }
            Start-Sleep -Seconds 1
        }
    }
}

# The file's hash must match its line in the sums file (`<hex> *<name>` or `<hex>  <name>`).
function Test-Checksum([string]$algorithm, [string]$file, [string]$sums, [string]$name) {
    $line = Get-Content $sums | Where-Object { $_ -match ('[ *]' + [regex]::Escape($name) + '$') } | Select-Object -First 1
    if (-not $line) {
        throw "portproxy-install: no checksum for $name"
    }
    $want = ($line -split '\s+')[0]
    $got = (Get-FileHash -Algorithm $algorithm -Path $file).Hash
    if ($got -ne $want) {
        throw "portproxy-install: checksum mismatch for ${name}: expected $want, got $got; nothing was installed"
    }
}

# A running .exe (portproxy, or the Caddy it started) can be renamed but not overwritten or
# deleted: the old one moves aside, and whatever earlier runs moved aside goes once nothing
# runs it any more.
function Install-Exe([string]$source, [string]$dest) {
    $old = $null
    if (Test-Path $dest) {
        $old = "$dest.$([Guid]::NewGuid().ToString('N')).old"
        Move-Item $dest $old
    }
    try {
        Copy-Item $source $dest
    }
    catch {
        if ($old) {
            Move-Item -Force $old $dest
        }
        throw
    }
    $leaf = Split-Path -Leaf $dest
    Get-ChildItem -Path (Split-Path $dest) -Filter "$leaf.*.old" | ForEach-Object {
        try {
            Remove-Item -Force $_.FullName
        }
        catch {
            # Still running; a later run retries.
        }
    }
}

# A Caddy on PATH that portproxy runs with ($minimum or newer).
function Test-Caddy([string]$minimum) {
    $caddy = Get-Command caddy -ErrorAction SilentlyContinue
    if (-not $caddy) {
        return $false
    }
    $text = (& $caddy.Source version) -join ' '
    if ($text -match 'v?(\d+\.\d+\.\d+)') {
        return ([version]$Matches[1]) -ge ([version]$minimum)
    }
    return $false
}

# The Caddy an earlier run installed (named in the receipt): a re-run keeps it at the pinned
# version, even once it is on PATH, and leaves every other Caddy alone.
function Test-OurCaddy([string]$configDir, [string]$binDir) {
    $receipt = Join-Path $configDir 'caddy-installed-by-install-ps1'
    $caddy = Join-Path $binDir 'caddy.exe'
    if (-not ((Test-Path $receipt) -and (Test-Path $caddy))) {
        return $false
    }
    return ((Get-Content -Raw $receipt).Trim() -eq $caddy)
}

function Install-Caddy([string]$tmp, [string]$binDir, [string]$pinned, [string]$arch, [string]$configDir) {
    $version = $env:PORTPROXY_CADDY_VERSION
    if (-not $version) {
        $version = $pinned
    }
    $version = $version.TrimStart('v')
    $base = $env:PORTPROXY_CADDY_DOWNLOAD_URL
    if (-not $base) {
        $base = "https://github.com/caddyserver/caddy/releases/download/v$version"
    }
    $asset = "caddy_${version}_windows_${arch}.zip"
    $installed = Join-Path $binDir 'caddy.exe'
    if (Test-Path $installed) {
        $current = (& $installed version) -join ' '
        if ($current -like "v$version *") {
            Write-Host "portproxy-install: Caddy $version is installed already"
            return
        }
    }
    Write-Host "portproxy-install: installing Caddy $version for HTTPS"
    Get-File "$base/$asset" (Join-Path $tmp $asset)
    Get-File "$base/caddy_${version}_checksums.txt" (Join-Path $tmp 'caddy_checksums.txt')
    Test-Checksum 'SHA512' (Join-Path $tmp $asset) (Join-Path $tmp 'caddy_checksums.txt') $asset
    Expand-Archive -Force -Path (Join-Path $tmp $asset) -DestinationPath (Join-Path $tmp 'caddy')
    Install-Exe (Join-Path $tmp 'caddy\caddy.exe') $installed
    New-Item -ItemType Directory -Force -Path $configDir | Out-Null
    Set-Content -Path (Join-Path $configDir 'caddy-installed-by-install-ps1') -Value $installed
    Write-Host "portproxy-install: installed Caddy $version into $binDir"
}

# Removes what an install and `portproxy service install` added: the Scheduled Task,
# portproxy.exe, the Caddy this script installed and the PATH entry. A Caddy it did not
# install stays, and so do the settings, the token and Caddy's certificates (said where).
function Uninstall-Portproxy([string]$binDir, [string]$configDir) {
    Write-Host "portproxy-install: uninstalling portproxy from $binDir"
    $exe = Join-Path $binDir 'portproxy.exe'
    if (Test-Path $exe) {
        # The Scheduled Task runs this binary: it goes first, while the binary can remove it.
        & $exe service uninstall
        try {
            Remove-Item -Force $exe
        }
        catch {
            throw "portproxy-install: cannot remove $exe (is portproxy running? stop it and run this again): $_"
        }
        Write-Host "portproxy-install: removed $exe"
    }
    $caddy = Join-Path $binDir 'caddy.exe'
    if (Test-OurCaddy $configDir $binDir) {
        Remove-Item -Force $caddy
        Remove-Item -Force (Join-Path $configDir 'caddy-installed-by-install-ps1')
        Write-Host "portproxy-install: removed $caddy"
    }
    elseif (Test-Path $caddy) {
        Write-Host "portproxy-install: left $caddy in place: install.ps1 did not install it"
    }
    Remove-FromUserPath $binDir
    if ((Test-Path $binDir) -and -not (Get-ChildItem -Force $binDir)) {
        Remove-Item $binDir
    }
    Write-Host "portproxy-install: kept your settings and access token ($configDir) and Caddy's certificates ($(Join-Path $env:LOCALAPPDATA 'portproxy')): delete those folders to remove them too"
}

function Get-UserPathParts {
    $current = (Get-Item 'HKCU:\Environment').GetValue('Path', '', 'DoNotExpandEnvironmentNames')
    return @($current -split ';' | Where-Object { $_ })
}

# Writes the user's PATH in HKCU, keeping %VARIABLES% unexpanded.
function Set-UserPath([string[]]$parts) {
    Set-ItemProperty -Path 'HKCU:\Environment' -Name 'Path' -Value ($parts -join ';') -Type ExpandString
    # The registry write alone reaches no running program; setting a variable through .NET
    # broadcasts WM_SETTINGCHANGE, so terminals opened from Explorer from now on see the Path.
    [Environment]::SetEnvironmentVariable('PORTPROXY_INSTALL_REFRESH', '1', 'User')
    [Environment]::SetEnvironmentVariable('PORTPROXY_INSTALL_REFRESH', [NullString]::Value, 'User')
}

function Add-ToUserPath([string]$dir) {
    $parts = Get-UserPathParts
    if ($parts -contains $dir) {
        return
    }
    Set-UserPath (@($dir) + $parts)
    $env:Path = "$dir;$env:Path"
    Write-Host "portproxy-install: added $dir to your user PATH"
}

function Remove-FromUserPath([string]$dir) {
    $parts = Get-UserPathParts
    if ($parts -notcontains $dir) {
        return
    }
    Set-UserPath @($parts | Where-Object { $_ -ne $dir })
    Write-Host "portproxy-install: removed $dir from your user PATH"
}

Install-Portproxy
