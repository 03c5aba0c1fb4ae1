using System.ComponentModel.DataAnnotations;

namespace AuditPipeline.ClickHouse;

public sealed class ClickHouseOptions
{
    public const string Section = "ClickHouse";

    /// <summary>HTTP interface base URL, e.g. http://127.0.0.1:58123/ (credentials via the URL's user info are never logged).</summary>
    [Required(ErrorMessage = "ClickHouse:Url is required (the ClickHouse HTTP interface).")]
    [Url]
    public string Url { get; set; } = "";
}
