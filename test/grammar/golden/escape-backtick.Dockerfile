# escape=`
FROM mcr.microsoft.com/windows/servercore
RUN powershell -Command `
    $ErrorActionPreference = 'Stop'; `

    Write-Host hi
WORKDIR C:\app
SHELL ["powershell", "-Command"]
