using System.Text.Json;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Evidence;
using AuditPipeline.Integrity.Store;
using AuditPipeline.Emitter;
using AuditPipeline.IntegrationTests.Infrastructure;
using AuditPipeline.Testing;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>
/// Issue 14, trust boundaries: verify-bundle and checkpoint verify check signatures with keys the
/// verifier holds (--trusted-key), never with keys that came with the data, and refuse to run
/// without one unless told to accept self-signed data. Each "verified" case has a forged twin.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class TrustedKeyTests(PipelineFixture fx) : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("ap-trust-").FullName;
    private readonly CheckpointSigner _signer = CheckpointSigner.Generate();
    private readonly CheckpointSigner _attacker = CheckpointSigner.Generate();

    public void Dispose()
    {
        _signer.Dispose();
        _attacker.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task Bundle_resigned_with_another_key_is_rejected_even_with_its_own_public_key()
    {
        var (store, bundle) = await ExportAsync();
        var trusted = await IntegrityKit.WritePublicKeyAsync(_signer, _work);
        var (exit, output) = await fx.AuditctlAsync(store, "verify-bundle", bundle, "--trusted-key", trusted);
        Assert.True(exit == 0, output);
        Assert.Contains($"signed by key {_signer.KeyId} (the trusted key)", output);

        // Manifest and checkpoint re-signed with the attacker's key, public-key.pem replaced by theirs.
        var forged = IntegrityKit.Copy(bundle, _work);
        await ResignAsync(forged, _attacker, _attacker.KeyId, _attacker.PublicKeyPem);
        // The forgery is self-consistent (so what rejects it below is the key, not a sloppy forgery)...
        var (selfExit, selfOutput) = await fx.AuditctlAsync(store, "verify-bundle", forged, "--accept-self-signed");
        Assert.True(selfExit == 0, selfOutput);
        Assert.Contains($"signed by key {_attacker.KeyId}", selfOutput);
        // ...and pinning the real key rejects it, naming the untrusted key.
        var (forgedExit, forgedOutput) = await fx.AuditctlAsync(store, "verify-bundle", forged, "--trusted-key", trusted);
        Assert.True(forgedExit == 1, forgedOutput);
        Assert.Contains($"signed by key {_attacker.KeyId}, which is not a trusted key (trusted: {_signer.KeyId})", forgedOutput);
        var report = (await BundleVerifier.VerifyAsync(forged, TrustedKeys.Pinned([_signer.PublicKeyPem])));
        Assert.Contains(report.Problems, p => p.StartsWith($"{BundleFormat.PublicKey}: is key {_attacker.KeyId}, not a trusted key (trusted: {_signer.KeyId})", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bundle_signed_by_another_key_under_the_trusted_key_id_is_rejected_because_the_whole_key_is_compared()
    {
        var (_, bundle) = await ExportAsync();
        var trusted = TrustedKeys.Pinned([_signer.PublicKeyPem]);
        Assert.True((await BundleVerifier.VerifyAsync(bundle, trusted)).Ok);

        // The attacker's signatures, labelled with the trusted key's id, and the attacker's public key shipped.
        var spoofed = IntegrityKit.Copy(bundle, _work);
        await ResignAsync(spoofed, _attacker, _signer.KeyId, _attacker.PublicKeyPem);
        var report = (await BundleVerifier.VerifyAsync(spoofed, trusted));
        Assert.False(report.Ok);
        Assert.Contains(report.Problems, p => p.StartsWith($"{BundleFormat.PublicKey}: is not the trusted key {_signer.KeyId} (it is key {_attacker.KeyId})", StringComparison.Ordinal));
        Assert.Contains(report.Problems, p => p.StartsWith($"{BundleFormat.ManifestSignature}: the signature does not match", StringComparison.Ordinal));
        Assert.Contains(report.Problems, p => p == $"{BundleFormat.Checkpoint}: the signature does not match the checkpoint");

        // Same, but with the genuine public key left in place: the signatures are checked with the trusted key itself.
        var genuineKey = IntegrityKit.Copy(bundle, _work);
        await ResignAsync(genuineKey, _attacker, _signer.KeyId, _signer.PublicKeyPem);
        var genuineReport = (await BundleVerifier.VerifyAsync(genuineKey, trusted));
        Assert.DoesNotContain(genuineReport.Problems, p => p.StartsWith(BundleFormat.PublicKey, StringComparison.Ordinal));
        Assert.Contains(genuineReport.Problems, p => p.StartsWith($"{BundleFormat.ManifestSignature}: the signature does not match", StringComparison.Ordinal));
        Assert.Contains(genuineReport.Problems, p => p == $"{BundleFormat.Checkpoint}: the signature does not match the checkpoint");
    }

    [Fact]
    public async Task Verify_bundle_without_a_trusted_key_fails_closed_unless_self_signed_is_accepted_and_then_says_so()
    {
        var (store, bundle) = await ExportAsync();
        var (exit, output) = await fx.AuditctlAsync(store, "verify-bundle", bundle);
        Assert.True(exit == 2, output);
        Assert.Contains("verify-bundle: nothing was pinned", output);
        Assert.Contains($"claims to be signed by key {_signer.KeyId} (not checked)", output);
        Assert.DoesNotContain("verify-bundle: OK", output);

        var (acceptExit, acceptOutput) = await fx.AuditctlAsync(store, "verify-bundle", bundle, "--accept-self-signed");
        Assert.True(acceptExit == 0, acceptOutput);
        Assert.Contains("verify-bundle: OK", acceptOutput);
        Assert.Contains("SELF-SIGNED, NOT PINNED", acceptOutput);

        var (bothExit, bothOutput) = await fx.AuditctlAsync(store, "verify-bundle", bundle, "--accept-self-signed", "--trusted-key", await IntegrityKit.WritePublicKeyAsync(_signer, _work));
        Assert.True(bothExit == 2, bothOutput);
        Assert.Contains("contradict", bothOutput);
    }

    [Fact]
    public async Task Checkpoint_verify_rejects_a_key_planted_in_the_checkpoint_folder_and_in_signing_keys_unless_it_is_trusted()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var ds = store.SeedDataSource();
        var fleet = new SampleFleet(6, seed: 41);
        await IntegrityKit.LoadAsync(ds, fleet, 600);
        await IntegrityKit.ProjectTreeAsync(ds);
        var dir = Path.Combine(_work, "offsite");
        var env = IntegrityKit.Env(await IntegrityKit.WriteKeyAsync(_signer, _work), dir);
        var (signExit, signOutput) = await fx.AuditctlAsync(store, env, "checkpoint", "create");
        Assert.True(signExit == 0, signOutput);
        var trusted = await IntegrityKit.WritePublicKeyAsync(_signer, _work);
        foreach (var where in new[] { Array.Empty<string>(), ["--dir", dir] })
        {
            var (exit, output) = await fx.AuditctlAsync(store, env, ["checkpoint", "verify", "--trusted-key", trusted, .. where]);
            Assert.True(exit == 0, output);
            Assert.Contains($"signed by trusted keys ({_signer.KeyId})", output);
        }

        // Someone with database rights signs a checkpoint with their own key: their key lands in
        // audit.signing_keys, and (copied along) in the folder's keys/.
        await IntegrityKit.LoadAsync(ds, fleet, 100);
        await new CheckpointService(ds, _attacker, [new DirectoryCheckpointSink(dir)]).CreateAsync(700, "attacker", default);
        Assert.True(File.Exists(Path.Combine(dir, "keys", $"{_attacker.KeyId}.pem")));
        Assert.Contains(_attacker.KeyId, (await new CheckpointLog(ds).PublicKeysAsync(default)).Keys);
        foreach (var where in new[] { Array.Empty<string>(), ["--dir", dir] })
        {
            var (exit, output) = await fx.AuditctlAsync(store, env, ["checkpoint", "verify", "--trusted-key", trusted, .. where]);
            Assert.True(exit == 1, output);
            Assert.Contains($"checkpoint 700 signed", output);
            Assert.Contains($"BAD SIGNATURE (signed by key {_attacker.KeyId}, which is not a trusted key (trusted: {_signer.KeyId}))", output);
            Assert.Contains("checkpoint 600 signed", output);
            // Taking the keys from where the checkpoints are is exactly what lets the planted one pass.
            var (selfExit, selfOutput) = await fx.AuditctlAsync(store, env, ["checkpoint", "verify", "--accept-self-signed", .. where]);
            Assert.True(selfExit == 0, selfOutput);
            Assert.Contains("SELF-SIGNED, NOT PINNED", selfOutput);
        }
        // Rotation: several trusted keys, each checkpoint checked with its own.
        var (bothExit, bothOutput) = await fx.AuditctlAsync(store, env, "checkpoint", "verify", "--trusted-key", trusted, "--trusted-key", await IntegrityKit.WritePublicKeyAsync(_attacker, _work));
        Assert.True(bothExit == 0, bothOutput);
        // The folder's own keys/ is refused as a trust anchor.
        var (insideExit, insideOutput) = await fx.AuditctlAsync(store, env, "checkpoint", "verify", "--dir", dir, "--trusted-key", Path.Combine(dir, "keys"));
        Assert.True(insideExit == 2, insideOutput);
        Assert.Contains("inside the folder being checked", insideOutput);
    }

    [Fact]
    public async Task Checkpoint_verify_with_no_trusted_key_configured_fails_closed()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var ds = store.SeedDataSource();
        await IntegrityKit.LoadAsync(ds, new SampleFleet(3, seed: 43), 300);
        await IntegrityKit.ProjectTreeAsync(ds);
        var dir = Path.Combine(_work, "cp");
        var env = IntegrityKit.Env(await IntegrityKit.WriteKeyAsync(_signer, _work), dir);
        Assert.Equal(0, (await fx.AuditctlAsync(store, env, "checkpoint", "create")).ExitCode);
        // The same store verifies once a key is pinned, so what fails below is only the missing trust.
        Assert.Equal(0, (await fx.AuditctlAsync(store, env, "checkpoint", "verify", "--trusted-key", await IntegrityKit.WritePublicKeyAsync(_signer, _work))).ExitCode);
        foreach (var where in new[] { Array.Empty<string>(), ["--dir", dir] })
        {
            var (exit, output) = await fx.AuditctlAsync(store, env, ["checkpoint", "verify", .. where]);
            Assert.True(exit == 2, output);
            Assert.Contains("checkpoint verify: nothing was pinned", output);
            Assert.DoesNotContain("checkpoint verify: OK", output);
        }
    }

    private async Task<(TestStore Store, string Bundle)> ExportAsync()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var ds = store.SeedDataSource();
        var from = DateTimeOffset.UtcNow.AddMinutes(-1);
        await IntegrityKit.LoadAsync(ds, new SampleFleet(4, seed: 47), 300);
        await IntegrityKit.ProjectTreeAsync(ds);
        var bundle = Path.Combine(_work, $"bundle-{Guid.NewGuid():N}");
        var (exit, output) = await fx.AuditctlAsync(store, IntegrityKit.Env(await IntegrityKit.WriteKeyAsync(_signer, _work), null),
            "export", "--from", from.ToString("O"), "--to", DateTimeOffset.UtcNow.AddMinutes(1).ToString("O"), "--out", bundle);
        Assert.True(exit == 0, output);
        return (store, bundle);
    }

    /// <summary>
    /// What a forger does: sign the checkpoint and the manifest with <paramref name="key"/>, name
    /// <paramref name="claimedKeyId"/> as the signer, and ship <paramref name="publicKeyPem"/>, with
    /// the manifest's hashes of the changed files made to match.
    /// </summary>
    private static async Task ResignAsync(string bundle, CheckpointSigner key, string claimedKeyId, string publicKeyPem)
    {
        var checkpointPath = Path.Combine(bundle, BundleFormat.Checkpoint);
        var document = CheckpointDocument.Parse(await File.ReadAllBytesAsync(checkpointPath));
        var signature = key.SignDocument(Checkpoint.SignedText(document.Size, document.RootHash, document.SignedAt, claimedKeyId));
        await File.WriteAllBytesAsync(checkpointPath, (document with { KeyId = claimedKeyId, Signature = signature, PublicKeyPem = document.PublicKeyPem is null ? null : publicKeyPem }).ToJsonBytes());
        await File.WriteAllTextAsync(Path.Combine(bundle, BundleFormat.PublicKey), publicKeyPem);

        var manifestPath = Path.Combine(bundle, BundleFormat.Manifest);
        var manifest = JsonSerializer.Deserialize<BundleManifest>(await File.ReadAllBytesAsync(manifestPath), BundleFormat.Json)!;
        var files = manifest.Files.Select(f => f.Path is BundleFormat.Checkpoint or BundleFormat.PublicKey
            ? f with { Sha256 = BundleFormat.Sha256Hex(File.ReadAllBytes(Path.Combine(bundle, f.Path))), Bytes = new FileInfo(Path.Combine(bundle, f.Path)).Length }
            : f).ToList();
        var bytes = JsonSerializer.SerializeToUtf8Bytes(manifest with { Checkpoint = manifest.Checkpoint with { KeyId = claimedKeyId }, Files = files }, BundleFormat.Json);
        await File.WriteAllBytesAsync(manifestPath, bytes);
        await File.WriteAllTextAsync(Path.Combine(bundle, BundleFormat.ManifestSignature), key.SignDocument(bytes));
    }
}
