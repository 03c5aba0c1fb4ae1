using AuditPipeline.Testing;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>
/// An operator command against a database that is down says so in one line and exits 2
/// (docs/operations.md): never a stack trace, which hides the cause and can show a connection string.
/// </summary>
public sealed class CliErrorTests
{
    [Theory]
    [InlineData("why", "3f2a0000-0000-4000-8000-000000000000")]
    [InlineData("alerts", "list")]
    [InlineData("alerts", "show", "3f2a0000-0000-4000-8000-000000000000")]
    [InlineData("keys", "list")]
    [InlineData("store", "stats")]
    [InlineData("store", "quarantine")]
    [InlineData("store", "subscriptions")]
    [InlineData("verify")]
    [InlineData("db", "migrate")]
    [InlineData("projections", "rebuild", "read-models")]
    // --json changes what a read command prints, never how it fails: one line on stderr, exit 2.
    [InlineData("why", "3f2a0000-0000-4000-8000-000000000000", "--json")]
    [InlineData("verify", "--json")]
    [InlineData("store", "stats", "--json")]
    [InlineData("store", "quarantine", "--json")]
    [InlineData("store", "subscriptions", "--json")]
    [InlineData("checkpoint", "list", "--json")]
    [InlineData("checkpoint", "show", "latest", "--json")]
    [InlineData("checkpoint", "verify", "--accept-self-signed", "--json")]
    [InlineData("proof", "inclusion", "3f2a0000-0000-4000-8000-000000000000", "--json")]
    [InlineData("proof", "consistency", "1", "2", "--json")]
    [InlineData("archive", "list", "--json")]
    [InlineData("hold", "list", "--json")]
    [InlineData("agents", "scope", "show", "some-agent", "--json")]
    [InlineData("subject", "show", "--subject", "someone", "--json")]
    public async Task A_command_against_a_database_that_is_down_prints_one_line_and_exits_2(params string[] args)
    {
        var (exit, output) = await ChildProcess.RunDotnetAsync(RepoPaths.AuditctlDll, new Dictionary<string, string>
        {
            // Nothing listens on port 1; the password must not appear in what is printed.
            ["Store__ConnectionString"] = "Host=127.0.0.1;Port=1;Database=store;Username=audit_ops;Password=s3cret-pw;Timeout=2",
            // subject show needs a master key before it reaches the database (32 zero bytes).
            ["Redaction__MasterKey"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        }, args);

        Assert.True(exit == 2, $"exit {exit}: {output}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, output);
        Assert.Contains("Failed to connect", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pw", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("store", "quarantine", "--limit", "many")]
    [InlineData("store", "quarantine", "replay", "--no-such-option")]
    [InlineData("no-such-command")]
    public async Task A_command_line_that_does_not_parse_exits_2_and_says_why(params string[] args)
    {
        var (exit, output) = await ChildProcess.RunDotnetAsync(RepoPaths.AuditctlDll, new Dictionary<string, string>(), args);

        Assert.True(exit == 2, $"exit {exit}: {output}");
        Assert.Contains("--help", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }
}
