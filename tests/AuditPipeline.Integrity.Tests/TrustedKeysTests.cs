using System.Security.Cryptography;
using AuditPipeline.Integrity;
using Xunit;

namespace AuditPipeline.Integrity.Tests;

/// <summary>Pinned public keys for the verifiers (issue 14): where they come from and what they accept.</summary>
public sealed class TrustedKeysTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("ap-trusted-keys-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public void Trusted_keys_load_from_pem_files_and_folders_and_anything_else_is_refused_by_path()
    {
        using var a = CheckpointSigner.Generate();
        using var b = CheckpointSigner.Generate();
        using var c = CheckpointSigner.Generate();
        var folder = Directory.CreateDirectory(Path.Combine(_work, "keys")).FullName;
        File.WriteAllText(Path.Combine(folder, "2025.pem"), a.PublicKeyPem);
        File.WriteAllText(Path.Combine(folder, "2026.pem"), b.PublicKeyPem);
        File.WriteAllText(Path.Combine(folder, "README"), "not a key, and not a *.pem file");
        // What `auditctl checkpoint keygen` prints (infra/up keeps it as checkpoint-signing.pub): the key id line, then the PEM.
        var printed = Path.Combine(_work, "printed.pub");
        File.WriteAllText(printed, $"key id {c.KeyId}\n{c.PublicKeyPem}\n");

        var keys = TrustedKeys.Load([folder, printed]);
        Assert.True(keys.IsPinned);
        Assert.Equal(new[] { a.KeyId, b.KeyId, c.KeyId }.Order(), keys.KeyIds.Order());
        Assert.True(keys.Find(b.KeyId)!.IsKey(ECDsaPublicKey(b.PublicKeyPem)));

        var missing = Path.Combine(_work, "nope.pem");
        Assert.Contains(missing, Assert.Throws<ArgumentException>(() => TrustedKeys.Load([missing])).Message);
        var empty = Directory.CreateDirectory(Path.Combine(_work, "empty")).FullName;
        Assert.Contains("holds no *.pem file", Assert.Throws<ArgumentException>(() => TrustedKeys.Load([empty])).Message);
        var garbage = Path.Combine(_work, "garbage.pem");
        File.WriteAllText(garbage, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
        Assert.Contains(garbage, Assert.Throws<ArgumentException>(() => TrustedKeys.Load([folder, garbage])).Message);
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var wrongCurve = Path.Combine(_work, "p384.pem");
        File.WriteAllText(wrongCurve, p384.ExportSubjectPublicKeyInfoPem());
        Assert.Throws<ArgumentException>(() => TrustedKeys.Load([wrongCurve]));
        var privateKey = Path.Combine(_work, "signing.pem");
        File.WriteAllText(privateKey, a.ExportPrivateKeyPem());
        Assert.Contains(privateKey, Assert.Throws<ArgumentException>(() => TrustedKeys.Load([privateKey])).Message);
        Assert.Throws<ArgumentException>(() => TrustedKeys.Load([]));
        Assert.Throws<ArgumentException>(() => TrustedKeys.Pinned([]));
    }

    [Fact]
    public void A_checkpoint_signed_by_another_key_under_a_trusted_key_id_does_not_verify()
    {
        using var trusted = CheckpointSigner.Generate();
        using var attacker = CheckpointSigner.Generate();
        var keys = TrustedKeys.Pinned([trusted.PublicKeyPem]);
        var root = new byte[32];
        var honest = trusted.Sign(5, root, DateTimeOffset.UtcNow);
        Assert.Null(keys.Verify(honest));

        // The attacker's own checkpoint: its key is simply not trusted.
        var theirs = attacker.Sign(5, root, DateTimeOffset.UtcNow);
        Assert.Equal($"signed by key {attacker.KeyId}, which is not a trusted key (trusted: {trusted.KeyId})", keys.Verify(theirs));
        // Labelled with the trusted key's id: checked with the trusted key itself, so the signature fails.
        var spoofed = honest with { Signature = attacker.SignDocument(Checkpoint.SignedText(honest.Size, honest.RootHash, honest.At, trusted.KeyId)) };
        Assert.Equal("the signature does not match the checkpoint", keys.Verify(spoofed));
        // Keys that came with the data are kept only under their own id: a key filed under another id is dropped.
        var shipped = TrustedKeys.SelfSigned(new Dictionary<string, string> { [trusted.KeyId] = attacker.PublicKeyPem });
        Assert.False(shipped.IsPinned);
        Assert.Equal($"no public key with id {trusted.KeyId}", shipped.Verify(spoofed));
        Assert.Null(TrustedKeys.SelfSigned(new Dictionary<string, string> { [attacker.KeyId] = attacker.PublicKeyPem }).Verify(theirs));
    }

    private static byte[] ECDsaPublicKey(string pem)
    {
        using var key = ECDsa.Create();
        key.ImportFromPem(pem);
        return key.ExportSubjectPublicKeyInfo();
    }
}
