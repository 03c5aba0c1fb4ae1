namespace AuditPipeline.Cli.Infrastructure;

internal static class SecretFile
{
    /// <summary>
    /// Writes a new key file readable by its owner only (mode 600 from creation, never briefly
    /// wider), and never over an existing one: a replaced key loses what it protected or signed.
    /// </summary>
    public static void WriteNew(string path, string content, string what)
    {
        if (File.Exists(path))
        {
            throw new IOException($"{path} exists; {what} is never overwritten");
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using var writer = new StreamWriter(new FileStream(path, options));
        writer.Write(content);
    }
}
