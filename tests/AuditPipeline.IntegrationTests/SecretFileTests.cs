using AuditPipeline.EventStore;
using AuditPipeline.Emitter;
using AuditPipeline.IntegrationTests.Infrastructure;
using AuditPipeline.Testing;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>Secrets mounted as files (Docker/Kubernetes), as the production manifests deliver them.</summary>
[Collection(PipelineCollection.Name)]
public sealed class SecretFileTests(PipelineFixture fx)
{
    [Fact]
    public async Task A_setting_in_the_secrets_folder_is_used_and_wins_over_the_environment()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using (var ds = store.DataSource(ServiceRole.Ingest))
        {
            await new PostgresEventStore(ds, TimeProvider.System).AppendAsync(TestEvents.AcrossFleet(new SampleFleet(3), 3), [], default);
        }
        var secrets = Directory.CreateTempSubdirectory("ap-secrets-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(secrets, "Store__ConnectionString"), store.ConnectionString(ServiceRole.Ops));
            var (exit, output) = await ChildProcess.RunDotnetAsync(RepoPaths.AuditctlDll, new Dictionary<string, string>
            {
                ["AUDITPIPELINE_SECRETS_DIR"] = secrets,
                // A stale value in the environment loses to the mounted secret.
                ["Store__ConnectionString"] = "Host=127.0.0.1;Port=9;Database=nothing;Username=nobody;Password=wrong",
            }, "store", "stats");
            Assert.True(exit == 0, output);
            Assert.Contains("events=3", output);
            Assert.DoesNotContain("Password=", output);
        }
        finally
        {
            Directory.Delete(secrets, recursive: true);
        }
    }
}
