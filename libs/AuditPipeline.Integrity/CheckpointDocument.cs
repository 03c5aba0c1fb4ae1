using System.Text.Json;
using System.Text.Json.Serialization;

namespace AuditPipeline.Integrity;

/// <summary>
/// The portable form of a checkpoint: what is written to the checkpoint directory, published to
/// Kafka, served by the API and put in evidence bundles. Anyone can rebuild the signed bytes
/// (<see cref="Checkpoint.SignedText"/>) from it and check the signature with the key's PEM.
/// </summary>
public sealed record CheckpointDocument(
    string Origin, long Size, string RootHash, DateTimeOffset SignedAt, string KeyId, string Signature, string? PublicKeyPem)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>
    /// Set only by a server that checked the signature against its own trusted keys (never against
    /// the key stored beside the row); absent in files and bundles, whose readers check for themselves.
    /// </summary>
    public bool? Verified { get; init; }

    /// <summary>Why <see cref="Verified"/> is false.</summary>
    public string? Problem { get; init; }

    public static CheckpointDocument From(Checkpoint c, string? publicKeyPem) =>
        new(Checkpoint.Origin, c.Size, c.RootHash, c.At, c.KeyId, c.Signature, publicKeyPem);

    /// <summary>A stored checkpoint as a server shows it: with the trusted key's PEM and verified, or with the stored PEM and why it is not.</summary>
    public static CheckpointDocument Checked(Checkpoint c, TrustedKeys? trusted, string? storedPublicKeyPem)
    {
        var problem = trusted is null ? "no trusted checkpoint key is configured here, so the signature was not checked" : trusted.Verify(c);
        return problem is null
            ? From(c, trusted!.Find(c.KeyId)!.PublicKeyPem) with { Verified = true }
            : From(c, storedPublicKeyPem) with { Verified = false, Problem = problem };
    }

    public Checkpoint ToCheckpoint() => new(Size, RootHash, SignedAt, KeyId, Signature);

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    /// <summary>Parses a checkpoint file; names what is wrong instead of throwing deep inside.</summary>
    public static CheckpointDocument Parse(ReadOnlySpan<byte> json)
    {
        CheckpointDocument? doc;
        try
        {
            doc = JsonSerializer.Deserialize<CheckpointDocument>(json, Json);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"not a checkpoint document: {ex.Message}", ex);
        }
        if (doc is null || doc.Origin != Checkpoint.Origin || doc.RootHash is not { Length: 64 } || doc.KeyId is null || doc.Signature is null || doc.Size < 0)
        {
            throw new FormatException($"not a checkpoint document (expected origin {Checkpoint.Origin}, size, 64-hex rootHash, keyId, signature)");
        }
        return doc;
    }
}
