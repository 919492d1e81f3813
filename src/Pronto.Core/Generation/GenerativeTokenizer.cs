using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using Pronto.Core.Errors;

namespace Pronto.Core.Generation;

/// <summary>
/// A decoder's tokenizer, read from Hugging Face's <c>tokenizer.json</c> (a BPE model) and run by Microsoft.ML.Tokenizers'
/// <see cref="BpeTokenizer"/>, which has no tokenizer.json loader of its own: the vocabulary, merges, added (special)
/// tokens, byte-level flag, normalizer and the pre-tokenizer's split pattern are read here and handed to it. A
/// byte-level BPE (GPT-2, Qwen, Llama 3) is encoded by it whole; a SentencePiece-style BPE (Llama 2, Mistral, Phi-3,
/// Gemma: <c>▁</c> words, byte fallback) through <see cref="SentencePieceText"/>. Other model types (WordPiece,
/// Unigram) are refused.
/// </summary>
public sealed class GenerativeTokenizer
{
    /// <summary>
    /// GPT-2's pre-tokenizer pattern (tokenizers' ByteLevel with use_regex), used when tokenizer.json gives none, and by
    /// the BPE trainer of Pronto's own demo model.
    /// </summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly BpeTokenizer _tokenizer;
    private readonly Dictionary<string, int> _special;
    private readonly HashSet<int> _specialIds;
    private readonly string?[] _tokens;
    private readonly bool _byteLevel;
    private readonly int[] _prefix;
    private readonly int[] _suffix;
    private readonly SentencePieceText? _pieces;
    private readonly Func<string, string>? _normalize;

    private GenerativeTokenizer(BpeTokenizer tokenizer, Dictionary<string, int> special, Dictionary<string, int> vocab, int vocabSize, bool byteLevel, (int[] Prefix, int[] Suffix) template, SentencePieceText? pieces, Func<string, string>? normalize)
    {
        _tokenizer = tokenizer;
        _pieces = pieces;
        _normalize = normalize;
        (_prefix, _suffix) = template;
        _special = special;
        _specialIds = [.. special.Values];
        VocabSize = vocabSize;
        _byteLevel = byteLevel;
        _tokens = new string?[vocabSize];
        foreach (var (token, id) in vocab)
        {
            _tokens[id] = token;
        }

        foreach (var (token, id) in special)
        {
            _tokens[id] = token;
        }
    }

    /// <summary>
    /// The bytes one token stands for, as log-probabilities report them (OpenAI's <c>bytes</c>): byte-level BPE
    /// vocabulary entries mapped back through GPT-2's byte-to-character table, <c>&lt;0xNN&gt;</c> byte-fallback entries
    /// as that byte, <c>▁</c> as a space, added tokens as their text. A token can be part of a UTF-8 character.
    /// </summary>
    public byte[] TokenBytes(int id)
    {
        if ((uint)id >= (uint)_tokens.Length || _tokens[id] is not { } token)
        {
            return [];
        }

        if (_specialIds.Contains(id))
        {
            return System.Text.Encoding.UTF8.GetBytes(token);
        }

        if (_byteLevel)
        {
            var bytes = new byte[token.Length];
            for (var i = 0; i < token.Length; i++)
            {
                bytes[i] = ByteOfChar(token[i]);
            }

            return bytes;
        }

        if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
            && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out var single))
        {
            return [single];
        }

        return System.Text.Encoding.UTF8.GetBytes(token.Replace(_pieces?.Replacement ?? '\u2581', ' '));
    }

    /// <summary>A token as text for log-probabilities: its bytes as UTF-8 (U+FFFD where they end inside a character).</summary>
    public string TokenText(int id) => System.Text.Encoding.UTF8.GetString(TokenBytes(id));

    /// <summary>
    /// GPT-2's byte-level table backwards: bytes 33-126, 161-172 and 174-255 are their own character; the other 68
    /// bytes, in order, are U+0100 onwards.
    /// </summary>
    private static byte ByteOfChar(char c)
    {
        if (c is (>= '!' and <= '~') or (>= '\u00A1' and <= '\u00AC') or (>= '\u00AE' and <= '\u00FF'))
        {
            return (byte)c;
        }

        var n = c - 0x100;
        for (var b = 0; b < 256; b++)
        {
            if (b is (>= 33 and <= 126) or (>= 161 and <= 172) or (>= 174 and <= 255))
            {
                continue;
            }

            if (n-- == 0)
            {
                return (byte)b;
            }
        }

        return (byte)'?';
    }

    /// <summary>Ids the tokenizer knows: one more than the highest id of the vocabulary and the added tokens.</summary>
    public int VocabSize { get; }

    /// <summary>The added tokens (<c>added_tokens</c>), content to id.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens => _special;

    /// <summary>Reads <paramref name="path"/> (tokenizer.json). Throws InvalidArgument or Unsupported with the reason.</summary>
    public static GenerativeTokenizer Load(string path)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            return ProntoErrors.InvalidArgument<GenerativeTokenizer>($"'{path}' is not valid JSON: {e.Message}");
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            {
                ProntoErrors.InvalidArgument($"'{path}' has no 'model' object");
            }

            var type = model.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (type != "BPE")
            {
                ProntoErrors.Unsupported($"'{path}': tokenizer model type '{type}' is not supported; Pronto reads BPE tokenizers");
            }

            var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
            var maxId = -1;
            foreach (var entry in model.GetProperty("vocab").EnumerateObject())
            {
                var id = entry.Value.GetInt32();
                vocab[entry.Name] = id;
                maxId = Math.Max(maxId, id);
            }

            var merges = new List<string>();
            if (model.TryGetProperty("merges", out var m))
            {
                foreach (var merge in m.EnumerateArray())
                {
                    // Older files write "a b", newer ones ["a", "b"].
                    merges.Add(merge.ValueKind == JsonValueKind.Array ? $"{merge[0].GetString()} {merge[1].GetString()}" : merge.GetString()!);
                }
            }

            var special = new Dictionary<string, int>(StringComparer.Ordinal);
            if (root.TryGetProperty("added_tokens", out var added))
            {
                foreach (var token in added.EnumerateArray())
                {
                    var id = token.GetProperty("id").GetInt32();
                    special[token.GetProperty("content").GetString()!] = id;
                    maxId = Math.Max(maxId, id);
                }
            }

            var byteLevel = HasType(root, "pre_tokenizer", "ByteLevel") || HasType(root, "decoder", "ByteLevel");

            // A SentencePiece-style BPE splits out added tokens, normalizes and pre-tokenizes itself (SentencePieceText)
            // and hands the BPE whole runs of known characters: no pre-tokenizer pattern, no special tokens here.
            var options = new BpeOptions(vocab)
            {
                Merges = merges,
                ByteLevel = byteLevel,
                SpecialTokens = byteLevel && special.Count > 0 ? special : null,
                PreTokenizer = byteLevel
                    ? new RegexPreTokenizer(new Regex(SplitPattern(root) ?? Gpt2Pattern, RegexOptions.Compiled), special.Count > 0 ? special : null)
                    : new RegexPreTokenizer(new Regex("(?s).+", RegexOptions.Compiled), null),
                UnknownToken = model.TryGetProperty("unk_token", out var unk) && unk.ValueKind == JsonValueKind.String ? unk.GetString() : null,
            };
            try
            {
                var bpe = BpeTokenizer.Create(options);
                var normalize = byteLevel && root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind == JsonValueKind.Object
                    ? SentencePieceText.Normalizer(normalizer, path)
                    : null;
                var pieces = byteLevel ? null : SentencePieceText.Create(root, model, bpe, vocab, special, path);
                return new GenerativeTokenizer(bpe, special, vocab, maxId + 1, byteLevel, PostProcessor(root, path), pieces, normalize);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                return ProntoErrors.InvalidArgument<GenerativeTokenizer>($"'{path}': {e.Message}");
            }
        }
    }

    /// <summary>Token ids of <paramref name="text"/>; special tokens written in the text become their ids.</summary>
    public int[] Encode(string text) => _pieces?.Encode(text) ?? [.. _tokenizer.EncodeToIds(_normalize is null ? text : _normalize(text))];

    /// <summary>
    /// A prompt's ids with the special tokens the tokenizer's post-processor adds around a single sequence (Llama's and
    /// Mistral's <c>TemplateProcessing</c>: BOS first), as Hugging Face's tokenizers and vLLM's completions add them
    /// (<c>add_special_tokens</c>, default true). Chat prompts do not take them: the chat template writes its own.
    /// </summary>
    public int[] EncodePrompt(string text) => _prefix.Length == 0 && _suffix.Length == 0 ? Encode(text) : [.. _prefix, .. Encode(text), .. _suffix];

    /// <summary>The ids the post-processor puts before and after a single sequence (empty when it adds none).</summary>
    public (IReadOnlyList<int> Prefix, IReadOnlyList<int> Suffix) PromptSpecialTokens => (_prefix, _suffix);

    /// <summary>The text of <paramref name="ids"/>, special tokens left out (as OpenAI-compatible servers answer).</summary>
    public string Decode(IReadOnlyList<int> ids)
    {
        var kept = new List<int>(ids.Count);
        foreach (var id in ids)
        {
            if (!_specialIds.Contains(id))
            {
                kept.Add(id);
            }
        }

        if (_pieces is null)
        {
            return _tokenizer.Decode(kept);
        }

        // SentencePiece pieces: each token's bytes (▁ a space, <0xNN> its byte), one UTF-8 text.
        var bytes = new List<byte>(kept.Count * 4);
        foreach (var id in kept)
        {
            bytes.AddRange(TokenBytes(id));
        }

        return System.Text.Encoding.UTF8.GetString([.. bytes]);
    }

    /// <summary>The id of an added token or a vocabulary entry, or null.</summary>
    public int? TokenId(string token)
    {
        if (_special.TryGetValue(token, out var id))
        {
            return id;
        }

        if (_pieces is not null)
        {
            return _pieces.TokenId(token);
        }

        var ids = _tokenizer.EncodeToIds(token);
        return ids.Count == 1 ? ids[0] : null;
    }

    private static bool HasType(JsonElement root, string property, string type)
    {
        if (!root.TryGetProperty(property, out var element) || element.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        if (element.TryGetProperty("type", out var t) && t.GetString() == type)
        {
            return true;
        }

        // Sequence pre-tokenizers / decoders list their steps.
        foreach (var key in (string[])["pretokenizers", "decoders"])
        {
            if (element.TryGetProperty(key, out var steps) && steps.ValueKind == JsonValueKind.Array)
            {
                foreach (var step in steps.EnumerateArray())
                {
                    if (step.TryGetProperty("type", out var st) && st.GetString() == type)
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    /// <summary>
    /// The special tokens of a <c>TemplateProcessing</c> post-processor's <c>single</c> template (alone or in a
    /// <c>Sequence</c>) before and after the sequence <c>$A</c>, by their ids in its <c>special_tokens</c>. Other
    /// post-processors (ByteLevel's offsets, none) add no ids.
    /// </summary>
    private static (int[] Prefix, int[] Suffix) PostProcessor(JsonElement root, string path)
    {
        if (!root.TryGetProperty("post_processor", out var post) || post.ValueKind != JsonValueKind.Object)
        {
            return ([], []);
        }

        IEnumerable<JsonElement> steps = post.TryGetProperty("processors", out var list) && list.ValueKind == JsonValueKind.Array ? list.EnumerateArray() : [post];
        foreach (var step in steps)
        {
            if (!step.TryGetProperty("type", out var t) || t.GetString() != "TemplateProcessing" || !step.TryGetProperty("single", out var single))
            {
                continue;
            }

            var prefix = new List<int>();
            var suffix = new List<int>();
            var seenSequence = false;
            foreach (var item in single.EnumerateArray())
            {
                if (item.TryGetProperty("Sequence", out _))
                {
                    seenSequence = true;
                    continue;
                }

                var name = item.GetProperty("SpecialToken").GetProperty("id").GetString()!;
                if (!step.TryGetProperty("special_tokens", out var specials) || !specials.TryGetProperty(name, out var entry) || !entry.TryGetProperty("ids", out var ids))
                {
                    return ProntoErrors.InvalidArgument<(int[], int[])>($"'{path}': the post-processor's template names '{name}', which its special_tokens do not give ids for");
                }

                foreach (var id in ids.EnumerateArray())
                {
                    (seenSequence ? suffix : prefix).Add(id.GetInt32());
                }
            }

            return ([.. prefix], [.. suffix]);
        }

        return ([], []);
    }

    /// <summary>The regex of a <c>Split</c> pre-tokenizer (Qwen, Llama 3 write theirs this way), or null.</summary>
    private static string? SplitPattern(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        IEnumerable<JsonElement> steps = pre.TryGetProperty("pretokenizers", out var list) && list.ValueKind == JsonValueKind.Array ? list.EnumerateArray() : [pre];
        foreach (var step in steps)
        {
            if (step.TryGetProperty("type", out var t) && t.GetString() == "Split"
                && step.TryGetProperty("pattern", out var p) && p.TryGetProperty("Regex", out var regex))
            {
                return regex.GetString();
            }
        }

        return null;
    }
}
