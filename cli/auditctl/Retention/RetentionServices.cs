using AuditPipeline.EventStore;
using AuditPipeline.Integrity.Store;
using AuditPipeline.Retention;
using Npgsql;

namespace AuditPipeline.Cli.Retention;

/// <summary>How the retention commands build the service and the exporter that seals months.</summary>
internal static class RetentionServices
{
    public static RetentionService Service(NpgsqlDataSource ds) => new(ds, new PostgresEventStore(ds, TimeProvider.System), TimeProvider.System);

    /// <summary>A sealing exporter: the segment's checkpoint is stored, not published (no sinks).</summary>
    public static BundleExporter Exporter(NpgsqlDataSource ds, AuditPipeline.Integrity.CheckpointSigner signer) =>
        new(ds, new CheckpointService(ds, signer, [], earlierKeys: CliSettings.Integrity().LoadTrustedKeys(signer)), signer);
}
