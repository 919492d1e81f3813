using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pronto.Core.Generation;

namespace Pronto.Models.Generative;

/// <summary>
/// A byte-level BPE tokenizer in Hugging Face's tokenizer.json format (GPT-2's byte alphabet, its pre-tokenizer split):
/// 256 byte tokens, then the merges in rank order, then the added (special) tokens. Pronto reads these files with
/// <see cref="GenerativeTokenizer"/>; <see cref="Train"/> learns merges from a corpus, as GPT-2's tokenizer was made.
/// </summary>
public sealed record ByteLevelBpe(IReadOnlyList<(string Left, string Right)> Merges, IReadOnlyList<string> SpecialTokens)
{
    /// <summary>Qwen2's ChatML chat template, shortened to its message loop.</summary>
    public const string ChatMlTemplate = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    /// <summary>Byte tokens, merges, then the special tokens.</summary>
    public int VocabSize => 256 + Merges.Count + SpecialTokens.Count;

    /// <summary>The id of a special token.</summary>
    public int SpecialId(string token)
    {
        var index = SpecialTokens.ToList().IndexOf(token);
        return index < 0 ? throw new ArgumentException($"'{token}' is not a special token", nameof(token)) : 256 + Merges.Count + index;
    }

    /// <summary>
    /// Learns <paramref name="mergeCount"/> merges from <paramref name="texts"/> (fewer when no pair repeats): each
    /// round merges the most frequent adjacent pair within a pre-tokenized word, ties broken by ordinal order, so the
    /// same corpus always gives the same tokenizer.
    /// </summary>
    public static ByteLevelBpe Train(IEnumerable<string> texts, int mergeCount, IReadOnlyList<string> specialTokens)
    {
        var alphabet = Alphabet();
        var split = new Regex(GenerativeTokenizer.Gpt2Pattern, RegexOptions.Compiled);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            foreach (Match word in split.Matches(text))
            {
                var mapped = new string([.. Encoding.UTF8.GetBytes(word.Value).Select(b => alphabet[b])]);
                counts[mapped] = counts.GetValueOrDefault(mapped) + 1;
            }
        }

        var words = counts.OrderBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => (Symbols: c.Key.Select(ch => ch.ToString()).ToList(), Count: c.Value)).ToList();
        var merges = new List<(string, string)>();
        while (merges.Count < mergeCount)
        {
            var pairs = new Dictionary<(string, string), int>();
            foreach (var (symbols, count) in words)
            {
                for (var i = 0; i + 1 < symbols.Count; i++)
                {
                    pairs[(symbols[i], symbols[i + 1])] = pairs.GetValueOrDefault((symbols[i], symbols[i + 1])) + count;
                }
            }

            if (pairs.Count == 0)
            {
                break;
            }

            var best = pairs.OrderByDescending(p => p.Value)
                .ThenBy(p => p.Key.Item1, StringComparer.Ordinal).ThenBy(p => p.Key.Item2, StringComparer.Ordinal).First();
            if (best.Value < 2)
            {
                break;
            }

            var (left, right) = best.Key;
            merges.Add((left, right));
            foreach (var (symbols, _) in words)
            {
                for (var i = 0; i + 1 < symbols.Count; i++)
                {
                    if (symbols[i] == left && symbols[i + 1] == right)
                    {
                        symbols[i] = left + right;
                        symbols.RemoveAt(i + 1);
                    }
                }
            }
        }

        return new ByteLevelBpe(merges, specialTokens);
    }

    /// <summary>
    /// Writes tokenizer.json and tokenizer_config.json into <paramref name="folder"/>: bos and pad
    /// <paramref name="bosToken"/>, eos <paramref name="eosToken"/>, GPT-2's tokenizer class, and <paramref name="chatTemplate"/> (Jinja) unless null.
    /// </summary>
    public void Write(string folder, string bosToken, string eosToken, int contextLength, string? chatTemplate = ChatMlTemplate)
    {
        var alphabet = Alphabet();
        using (var stream = File.Create(Path.Combine(folder, "tokenizer.json")))
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteStartArray("added_tokens");
            foreach (var token in SpecialTokens)
            {
                w.WriteStartObject();
                w.WriteNumber("id", SpecialId(token));
                w.WriteString("content", token);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("lstrip", false);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("normalized", false);
                w.WriteBoolean("special", true);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteNull("normalizer");
            w.WriteStartObject("pre_tokenizer");
            w.WriteString("type", "ByteLevel");
            w.WriteBoolean("add_prefix_space", false);
            w.WriteBoolean("trim_offsets", true);
            w.WriteBoolean("use_regex", true);
            w.WriteEndObject();
            w.WriteStartObject("decoder");
            w.WriteString("type", "ByteLevel");
            w.WriteEndObject();
            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteStartObject("vocab");
            for (var b = 0; b < 256; b++)
            {
                w.WriteNumber(alphabet[b].ToString(), b);
            }

            for (var m = 0; m < Merges.Count; m++)
            {
                w.WriteNumber(Merges[m].Left + Merges[m].Right, 256 + m);
            }

            w.WriteEndObject();
            w.WriteStartArray("merges");
            foreach (var (left, right) in Merges)
            {
                w.WriteStringValue($"{left} {right}");
            }

            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }

        using (var stream = File.Create(Path.Combine(folder, "tokenizer_config.json")))
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("bos_token", bosToken);
            w.WriteString("eos_token", eosToken);
            w.WriteString("pad_token", bosToken);
            w.WriteString("tokenizer_class", "GPT2Tokenizer");
            if (chatTemplate is not null)
            {
                w.WriteString("chat_template", chatTemplate);
            }

            w.WriteNumber("model_max_length", contextLength);
            w.WriteEndObject();
        }
    }

    /// <summary>GPT-2's byte-to-unicode table: printable bytes map to themselves, the others to 256 + n.</summary>
    public static char[] Alphabet()
    {
        var chars = new char[256];
        var next = 0;
        for (var b = 0; b < 256; b++)
        {
            var printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            chars[b] = printable ? (char)b : (char)(256 + next++);
        }

        return chars;
    }
}
