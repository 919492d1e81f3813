using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Pronto.Testing;

/// <summary>
/// The manifests under <c>deploy/kubernetes/</c>, each YAML document as a JSON element (scalars are strings, as
/// YAML leaves them untyped), so tests check what a cluster would run without one.
/// </summary>
public static class KubernetesManifests
{
    /// <summary>The repository's <c>deploy/kubernetes</c> folder, found upwards from the test's output folder.</summary>
    public static string Folder { get; } = FindFolder();

    /// <summary>Every manifest file, relative to <see cref="Folder"/>, in ordinal order.</summary>
    public static IReadOnlyList<string> Files() =>
        [.. Directory.EnumerateFiles(Folder, "*.yaml", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Folder, f)).Order(StringComparer.Ordinal)];

    /// <summary>The documents of one file (separated by <c>---</c>).</summary>
    public static IReadOnlyList<JsonElement> Load(string relativePath)
    {
        var deserializer = new DeserializerBuilder().Build();
        var parser = new Parser(new StringReader(File.ReadAllText(Path.Combine(Folder, relativePath))));
        parser.Consume<StreamStart>();
        var documents = new List<JsonElement>();
        while (parser.Accept<DocumentStart>(out _))
        {
            var value = deserializer.Deserialize<object?>(parser);
            documents.Add(JsonSerializer.SerializeToElement(Normalize(value)));
        }

        return documents;
    }

    /// <summary>The one document of <paramref name="kind"/> in a file.</summary>
    public static JsonElement Single(string relativePath, string kind) =>
        Assert.Single(Load(relativePath), d => d.GetProperty("kind").GetString() == kind);

    /// <summary>A container's args with <c>$(NAME)</c> replaced (Kubernetes' own expansion of env variables).</summary>
    public static string[] Args(JsonElement container, IReadOnlyDictionary<string, string> env) =>
        [.. container.GetProperty("args").EnumerateArray().Select(a => env.Aggregate(a.GetString()!, (s, e) => s.Replace($"$({e.Key})", e.Value, StringComparison.Ordinal)))];

    // YAML mappings deserialize with object keys; JSON needs string keys.
    private static object? Normalize(object? value) => value switch
    {
        Dictionary<object, object?> map => map.ToDictionary(e => (string)e.Key, e => Normalize(e.Value)),
        List<object?> list => list.Select(Normalize).ToList(),
        _ => value,
    };

    private static string FindFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "deploy", "kubernetes");
            if (File.Exists(Path.Combine(dir.FullName, "Pronto.slnx")) && Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"no deploy/kubernetes above {AppContext.BaseDirectory}");
    }
}
