using AuditPipeline.Contracts;
using System.ComponentModel.DataAnnotations;

namespace AuditPipeline.Redaction;

/// <summary>
/// Which payload fields are encrypted or replaced by keyed hashes at ingest, and the master key.
/// Off unless a master key is configured; with one, <c>action.input</c> and <c>outcome.message</c>
/// are encrypted by default. Lists are comma-separated field names from <see cref="RedactableFields"/>.
/// </summary>
public sealed class RedactionOptions
{
    public const string Section = "Redaction";
    public const string DefaultEncrypt = RedactableFields.ActionInput + "," + RedactableFields.OutcomeMessage;

    /// <summary>File holding the 32-byte master key in base64 (<c>auditctl subject keygen</c> makes one).</summary>
    public string? MasterKeyFile { get; set; }

    /// <summary>The same key inline (base64); takes precedence over the file.</summary>
    public string? MasterKey { get; set; }

    /// <summary>Fields encrypted under the subject's key: readable until the subject is shredded.</summary>
    public string Encrypt { get; set; } = DefaultEncrypt;

    /// <summary>Fields replaced by a keyed hash: equal values stay equal, the value itself is never stored.</summary>
    public string Hash { get; set; } = "";

    /// <summary>How long ingest reuses a subject key it looked up; a shred takes effect for new events within it.</summary>
    [Range(1, 3600)] public int KeyCacheSeconds { get; set; } = 60;

    public bool Enabled => !string.IsNullOrWhiteSpace(MasterKey) || !string.IsNullOrWhiteSpace(MasterKeyFile);

    public IReadOnlyList<string> EncryptedFields => Parse(Encrypt, nameof(Encrypt));

    public IReadOnlyList<string> HashedFields => Parse(Hash, nameof(Hash));

    /// <summary>Problems with the configuration, each naming its setting (empty: fine).</summary>
    public List<string> Problems()
    {
        var problems = new List<string>();
        foreach (var (name, text) in new[] { (nameof(Encrypt), Encrypt), (nameof(Hash), Hash) })
        {
            foreach (var field in Split(text).Where(f => !RedactableFields.All.Contains(f)))
            {
                problems.Add($"Redaction:{name}: '{field}' is not a redactable field; these are: {string.Join(", ", RedactableFields.All)}");
            }
        }
        foreach (var both in Split(Encrypt).Intersect(Split(Hash)))
        {
            problems.Add($"Redaction: '{both}' is listed in both Encrypt and Hash");
        }
        if (Enabled)
        {
            try
            {
                _ = LoadMasterKey();
            }
            catch (InvalidOperationException ex)
            {
                problems.Add(ex.Message);
            }
        }
        return problems;
    }

    /// <summary>The master key's bytes; errors name the setting, never the key.</summary>
    public byte[] LoadMasterKey()
    {
        string text;
        string setting;
        if (!string.IsNullOrWhiteSpace(MasterKey))
        {
            (text, setting) = (MasterKey, "Redaction:MasterKey");
        }
        else if (!string.IsNullOrWhiteSpace(MasterKeyFile))
        {
            setting = "Redaction:MasterKeyFile";
            if (!File.Exists(MasterKeyFile))
            {
                throw new InvalidOperationException($"{setting} '{MasterKeyFile}' does not exist (auditctl subject keygen --out <file> makes one).");
            }
            text = File.ReadAllText(MasterKeyFile);
        }
        else
        {
            throw new InvalidOperationException("No redaction master key: set Redaction:MasterKeyFile (or Redaction:MasterKey).");
        }
        try
        {
            var key = Convert.FromBase64String(text.Trim());
            return key.Length == RedactionKeys.MasterKeyBytes ? key
                : throw new InvalidOperationException($"The redaction master key ({setting}) must be {RedactionKeys.MasterKeyBytes} bytes in base64.");
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"The redaction master key ({setting}) is not base64.");
        }
    }

    private static string[] Split(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string[] Parse(string text, string name)
    {
        var fields = Split(text);
        return fields.FirstOrDefault(f => !RedactableFields.All.Contains(f)) is { } bad
            ? throw new InvalidOperationException($"Redaction:{name}: '{bad}' is not a redactable field")
            : fields;
    }
}
