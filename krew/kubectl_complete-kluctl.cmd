@echo off
rem kubectl 1.26+ runs this to complete kubectl kluctl command lines; the plugin answers.
kubectl-kluctl.exe __complete %*
