using System.Text.Json.Serialization;

namespace Pronto.Cli;

/// <summary>Source-generated JSON metadata for what the CLI reads itself (the NativeAOT binary has no reflection-based JSON).</summary>
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
