using Pronto.Core.Configuration;
using Pronto.Core.Processing;
using Pronto.Models;

namespace Pronto.MicroBench;

/// <summary>minilm's text preparation as the server builds it, and support-ticket sentences to feed it.</summary>
internal static class MiniLmText
{
    private const string Model = "minilm";

    private static readonly string[] Words =
        "my card was charged twice for the same order at the store last night and the refund has not arrived yet so please check the account before the next payment".Split(' ');

    /// <summary>The bundled minilm's <see cref="TextPreparer"/>: its config.pbtxt and vocab.txt, read by the code the repository uses.</summary>
    public static TextPreparer Preparer()
    {
        var directory = Path.Combine(ZooPaths.DefaultRepository(), Model);
        var config = ModelConfigText.Parse(File.ReadAllText(Path.Combine(directory, "config.pbtxt")), Model);
        return (TextPreparer)ModelProcessing.Create(config, directory).Preparer!;
    }

    /// <summary>
    /// <paramref name="count"/> different sentences; sentence i has <c>minWords + i % (maxWords - minWords + 1)</c>
    /// words, taken in order from a fixed text starting at word 5i.
    /// </summary>
    public static string[] Sentences(int count, int minWords, int maxWords)
    {
        var sentences = new string[count];
        for (var i = 0; i < count; i++)
        {
            var length = minWords + (i % (maxWords - minWords + 1));
            var words = new string[length];
            for (var w = 0; w < length; w++)
            {
                words[w] = Words[((5 * i) + w) % Words.Length];
            }

            sentences[i] = string.Join(' ', words);
        }

        return sentences;
    }
}
