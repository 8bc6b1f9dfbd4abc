# Installs the newest wxpub release on Windows (x86_64):
#   irm https://github.com/OWNER/wxpub/releases/latest/download/install.ps1 | iex
# Environment: WXPUB_REPO (OWNER/wxpub), WXPUB_VERSION (e.g. 1.2.3; default the newest),
# WXPUB_INSTALL_DIR (default %LOCALAPPDATA%\Programs\wxpub, added to the user's PATH).
# The archive's SHA-256 is checked against the release's before anything is installed.
$ErrorActionPreference = 'Stop'
$repo = if ($env:WXPUB_REPO) { $env:WXPUB_REPO } else { '@REPO@' }
$dir = if ($env:WXPUB_INSTALL_DIR) { $env:WXPUB_INSTALL_DIR } else { Join-Path $env:LOCALAPPDATA 'Programs\wxpub' }
$base = if ($env:WXPUB_VERSION) { "https://github.com/$repo/releases/download/v$($env:WXPUB_VERSION)" } else { "https://github.com/$repo/releases/latest/download" }
$archive = 'wxpub-x86_64-pc-windows-msvc.zip'
$tmp = Join-Path ([System.IO.Path]::GetTempPath()) ("wxpub-" + [guid]::NewGuid())
New-Item -ItemType Directory -Path $tmp | Out-Null
try {
    Invoke-WebRequest "$base/$archive" -OutFile (Join-Path $tmp $archive) -UseBasicParsing
    # Saved to a file and read as text: GitHub serves .sha256 files as bytes.
    Invoke-WebRequest "$base/$archive.sha256" -OutFile (Join-Path $tmp "$archive.sha256") -UseBasicParsing
    $expected = ((Get-Content (Join-Path $tmp "$archive.sha256") -Raw).Trim() -split '\s+')[0]
    $actual = (Get-FileHash (Join-Path $tmp $archive) -Algorithm SHA256).Hash
    if ($expected -ne $actual.ToLower()) { throw "$archive does not match its published SHA-256; nothing installed" }
    Expand-Archive (Join-Path $tmp $archive) -DestinationPath $tmp -Force
    New-Item -ItemType Directory -Path $dir -Force | Out-Null
    Copy-Item (Join-Path $tmp 'wxpub.exe') (Join-Path $dir 'wxpub.exe') -Force
    $userPath = [Environment]::GetEnvironmentVariable('Path', 'User')
    if (-not ($userPath -split ';' -contains $dir)) {
        [Environment]::SetEnvironmentVariable('Path', "$userPath;$dir", 'User')
        Write-Host "added $dir to your PATH (open a new terminal)"
    }
    Write-Host "installed $(& (Join-Path $dir 'wxpub.exe') --version) in $dir"
} finally {
    Remove-Item -Recurse -Force $tmp
}
