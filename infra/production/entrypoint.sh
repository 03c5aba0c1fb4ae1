#!/bin/sh
# Container entry point: the first argument names the process (see the Dockerfile).
set -e
what="$1"; shift || true
case "$what" in
  ingest)      exec dotnet /app/AuditPipeline.Ingest/AuditPipeline.Ingest.dll "$@" ;;
  projections) exec dotnet /app/AuditPipeline.ProjectionService/AuditPipeline.ProjectionService.dll "$@" ;;
  detectors)   exec dotnet /app/AuditPipeline.DetectorService/AuditPipeline.DetectorService.dll "$@" ;;
  query-api)   exec dotnet /app/AuditPipeline.QueryApi/AuditPipeline.QueryApi.dll "$@" ;;
  auditctl)    exec dotnet /app/auditctl/auditctl.dll "$@" ;;
  *) echo "usage: auditpipeline ingest|projections|detectors|query-api|auditctl <args>" >&2; exit 2 ;;
esac
