# Install PocketSR into Krita on Windows: powershell -ExecutionPolicy Bypass -File installers\krita.ps1 [options]
# Any pocketsr install option works; "uninstall" or "doctor" as the first word runs those.
$here = Split-Path -Parent $MyInvocation.MyCommand.Path
$py = if ($env:POCKETSR_BOOTSTRAP_PYTHON) { $env:POCKETSR_BOOTSTRAP_PYTHON } else { (Get-Command py, python -ErrorAction SilentlyContinue | Select-Object -First 1).Source }
if (-not $py) { Write-Error "PocketSR needs Python 3.10+ (python.org or 'winget install Python.Python.3.12')."; exit 1 }
$verb, $rest = if ($args.Count -gt 0 -and $args[0] -in @('uninstall', 'doctor')) { $args[0], $args[1..$args.Count] } else { 'install', $args }
if ($verb -ne 'doctor') { $rest = @('--host', 'krita') + @($rest | Where-Object { $_ -ne $null }) }
& $py (Join-Path $here 'bootstrap.py') $verb @rest
exit $LASTEXITCODE
