using System.CommandLine;
using AuditPipeline.Integrity.Store;

namespace AuditPipeline.Cli.Integrity;

/// <summary>
/// <c>auditctl proof inclusion|consistency</c>: RFC 9162 Merkle proofs, printed as JSON (so
/// <c>--json</c> changes nothing). Exit codes: 0 verified, 1 not verified, 2 could not run.
/// </summary>
internal static class ProofCommands
{
    public static Command Create()
    {
        var command = new Command("proof", "RFC 9162 Merkle proofs against signed checkpoints (verified before they are printed)");
        var eventId = new Argument<Guid>("event-id") { Description = "The event to prove" };
        var size = new Option<long?>("--checkpoint") { Description = "Log size of the checkpoint to prove against (default: the latest)" };
        var trusted = new Option<string[]>("--trusted-key") { Description = "Public key (PEM file or folder) checkpoints must be signed with; repeatable; default: Integrity:TrustedKeyFiles and the configured signing key's public half" };
        var inclusion = new Command("inclusion", "Inclusion proof of an event in a checkpoint") { eventId, size, trusted, JsonOutput.Flag };
        inclusion.SetAction((parse, ct) => CliRun.Guarded("proof inclusion", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            var proof = await new ProofService(ds, TrustOptions.ProofTrust(parse.GetValue(trusted))).InclusionAsync(parse.GetValue(eventId), parse.GetValue(size), ct);
            JsonOutput.Write(proof with { Checkpoint = proof.Checkpoint with { PublicKeyPem = null } });
            return proof.Verified ? 0 : 1;
        }));
        var from = new Argument<long>("old-size") { Description = "The earlier log size" };
        var to = new Argument<long>("new-size") { Description = "The later log size" };
        var consistency = new Command("consistency", "Consistency proof: the log at old-size is a prefix of the log at new-size") { from, to, trusted, JsonOutput.Flag };
        consistency.SetAction((parse, ct) => CliRun.Guarded("proof consistency", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            var proof = await new ProofService(ds, TrustOptions.ProofTrust(parse.GetValue(trusted))).ConsistencyAsync(parse.GetValue(from), parse.GetValue(to), ct);
            JsonOutput.Write(proof with { OldCheckpoint = null, NewCheckpoint = null });
            Console.Error.WriteLine($"signed: old {(proof.OldCheckpoint is null ? "no (root computed now)" : "yes")}, new {(proof.NewCheckpoint is null ? "no (root computed now)" : "yes")}");
            return proof.Verified ? 0 : 1;
        }));
        command.Subcommands.Add(inclusion);
        command.Subcommands.Add(consistency);
        return command;
    }
}
