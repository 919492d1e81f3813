namespace Pronto.Testing;

/// <summary>
/// Generated stand-in for a labeled support-ticket set (no real labeled text ships with a package the tests can use):
/// four topics, each text a topic phrase, a topic object and a shared tail, cycled through the classes so every
/// class has the same count. Fixed lists and a fixed index walk, so the same count always gives the same rows.
/// </summary>
public static class LabeledTexts
{
    private static readonly (string Label, string[] Phrases, string[] Objects)[] Topics =
    [
        ("billing", ["I was charged twice for", "there is a wrong amount on", "why is my bill so high for", "please explain the fee on"], ["my invoice", "last month's statement", "my subscription", "the annual plan"]),
        ("delivery", ["where is", "I am still waiting for", "the courier lost", "tracking shows nothing for"], ["my parcel", "the package", "my order", "the shipment"]),
        ("login", ["I cannot sign in to", "the password reset fails for", "two-factor codes never arrive for", "I am locked out of"], ["my account", "the app", "the website", "my profile"]),
        ("refund", ["I want my money back for", "when will I get a refund for", "please return the payment for", "I returned and need a refund for"], ["the broken item", "the cancelled order", "the faulty headphones", "the unused ticket"]),
    ];

    private static readonly string[] Tails = ["", " please help", " since yesterday", " again today", " as soon as possible"];

    public static IReadOnlyList<string> Labels { get; } = [.. Topics.Select(t => t.Label)];

    /// <summary><paramref name="count"/> (text, label) rows, classes in turn.</summary>
    public static IReadOnlyList<(string Text, string Label)> Generate(int count)
    {
        var rows = new List<(string, string)>(count);
        for (var i = 0; i < count; i++)
        {
            var (label, phrases, objects) = Topics[i % Topics.Length];
            var k = i / Topics.Length;
            rows.Add(($"{phrases[k % phrases.Length]} {objects[(k / phrases.Length) % objects.Length]}{Tails[(k * 3) % Tails.Length]}", label));
        }

        return rows;
    }
}
