using System.Reflection;
using AuditPipeline.EventStore;
using Xunit;

namespace AuditPipeline.Architecture.Tests;

/// <summary>SQL is reached through typed names: every embedded file has exactly one catalog property, and every property has its file.</summary>
public sealed class SqlCatalogTests
{
    public static TheoryData<string> Catalogs()
    {
        var data = new TheoryData<string>();
        foreach (var type in CatalogTypes())
        {
            data.Add(type.FullName!);
        }
        return data;
    }

    [Fact]
    public void Every_module_that_owns_sql_has_a_catalog()
    {
        var owners = CatalogTypes().Select(t => t.Assembly.GetName().Name).Order().ToList();
        Assert.Equal(
            ["AuditPipeline.Access", "AuditPipeline.EventStore", "AuditPipeline.Integrity.Store", "AuditPipeline.Projections",
             "AuditPipeline.Queries", "AuditPipeline.QueryApi", "AuditPipeline.Redaction", "AuditPipeline.Retention"],
            owners);
    }

    [Theory]
    [MemberData(nameof(Catalogs))]
    public void Each_sql_file_is_read_through_exactly_one_property_of_its_catalog(string catalog)
    {
        var type = CatalogTypes().Single(t => t.FullName == catalog);
        var files = (EmbeddedSql)type.GetProperty("Files")!.GetValue(null)!;
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Static).Where(p => p.PropertyType == typeof(string)).ToList();
        foreach (var property in properties)
        {
            Assert.False(string.IsNullOrWhiteSpace((string)property.GetValue(null)!), $"{catalog}.{property.Name} is empty");
        }
        Assert.NotEmpty(files.Names);
        Assert.Equal(files.Names, files.Loaded.Order(StringComparer.Ordinal));
        Assert.Equal(files.Names.Count, properties.Count);
    }

    private static IEnumerable<Type> CatalogTypes()
    {
        string[] modules =
        [
            "AuditPipeline.EventStore", "AuditPipeline.Access", "AuditPipeline.Integrity.Store", "AuditPipeline.Retention",
            "AuditPipeline.Redaction", "AuditPipeline.Projections", "AuditPipeline.Queries", "AuditPipeline.QueryApi",
        ];
        return modules.Select(Assembly.Load)
            .SelectMany(a => a.GetExportedTypes())
            .Where(t => t.IsAbstract && t.IsSealed && t.GetProperty("Files", BindingFlags.Public | BindingFlags.Static)?.PropertyType == typeof(EmbeddedSql));
    }
}
