using System.Text.Json.Serialization;

namespace Pronto;

/// <summary>Source-generated JSON for the fields the classifier sends (no reflection, trimming-safe).</summary>
[JsonSerializable(typeof(IReadOnlyDictionary<string, double>))]
internal sealed partial class ProntoJson : JsonSerializerContext;
