using System.Globalization;
using Pronto;

// Usage: Pronto.Sample REPOSITORY_FOLDER  (a repository with minilm and fraud, e.g. ~/.cache/pronto/models-v7)
using var pronto = ProntoRuntime.Open(args[0]);
var embedding = (await pronto.GetEmbeddingGenerator("minilm").GenerateAsync(["a cat sat on the mat"]))[0];
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"minilm: {embedding.Vector.Length} dims, first {embedding.Vector.Span[0]:R}"));
var fraud = await pronto.GetClassifier("fraud").ClassifyAsync(new Dictionary<string, double>
{
    ["amount"] = 950, ["customer_avg_amount"] = 40, ["merchant_category"] = 3, ["hour"] = 3, ["distance_km"] = 800, ["txn_last_hour"] = 6,
});
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fraud: {fraud.Label} {fraud.Probability:R}"));
