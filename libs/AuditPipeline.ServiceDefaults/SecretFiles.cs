namespace AuditPipeline.ServiceDefaults;

/// <summary>
/// Where services read secrets as files, one setting per file named like its environment variable
/// (<c>Store__ConnectionString</c>, <c>Integrity__SigningKeyPem</c>, …): Docker and Kubernetes
/// secrets mounted as a directory, so credentials never sit in environment listings or manifests.
/// Default <c>/run/secrets/auditpipeline</c>; <c>AUDITPIPELINE_SECRETS_DIR</c> moves it. A
/// missing directory is fine (the local stack uses environment variables).
/// </summary>
public static class SecretFiles
{
    public static string Directory =>
        Environment.GetEnvironmentVariable("AUDITPIPELINE_SECRETS_DIR") is { Length: > 0 } dir ? dir : "/run/secrets/auditpipeline";
}
