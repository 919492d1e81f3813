using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using Pronto.Core.Errors;

namespace Pronto.Core.Generation;

/// <summary>
/// Encoding for a SentencePiece-style BPE tokenizer.json (Llama 2, Mistral, Phi-3, Gemma, TinyLlama: a BPE model that
/// is not byte-level, whose words carry <c>▁</c> for a space and whose unknown characters fall back to <c>&lt;0xNN&gt;</c>
/// byte tokens), as Hugging Face's tokenizers encode it: added tokens are split out of the text first; each other
/// section goes through the normalizer (<c>Prepend</c>, <c>Replace</c>, Unicode forms, <c>Lowercase</c>, in a
/// <c>Sequence</c>) and a <c>Metaspace</c> pre-tokenizer when there is one (spaces to <c>▁</c>, the prefix by its
/// <c>prepend_scheme</c>, split before each <c>▁</c> when <c>split</c>); then each run of characters the vocabulary
/// knows is merged by Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> (its merge ranks, the whole run as one word)
/// and each character it does not know becomes its UTF-8 bytes' tokens (<c>byte_fallback</c>) or the unknown token.
/// Microsoft.ML.Tokenizers reads SentencePiece only from a <c>.model</c> file, and ONNX Runtime GenAI 0.20's tokenizer
/// gives -1 ids for a Metaspace BPE tokenizer.json (docs/generative.md, "Tokenizer and chat template").
/// </summary>
internal sealed class SentencePieceText
{
    private readonly BpeTokenizer _bpe;
    private readonly IReadOnlyDictionary<string, int> _vocab;
    private readonly IReadOnlyDictionary<string, int> _special;
    private readonly Regex? _specialPattern;
    private readonly Func<string, string>? _normalize;
    private readonly Metaspace? _metaspace;
    private readonly int[]? _byteIds;
    private readonly int? _unknownId;
    private readonly bool _fuseUnknown;

    private SentencePieceText(BpeTokenizer bpe, IReadOnlyDictionary<string, int> vocab, IReadOnlyDictionary<string, int> special, Func<string, string>? normalize, Metaspace? metaspace, int[]? byteIds, int? unknownId, bool fuseUnknown)
    {
        _bpe = bpe;
        _vocab = vocab;
        _special = special;
        _normalize = normalize;
        _metaspace = metaspace;
        _byteIds = byteIds;
        _unknownId = unknownId;
        _fuseUnknown = fuseUnknown;
        _specialPattern = special.Count == 0 ? null
            : new Regex(string.Join('|', special.Keys.OrderByDescending(k => k.Length).Select(Regex.Escape)), RegexOptions.Compiled);
    }

    /// <summary>The space character of the vocabulary's words (<c>▁</c> unless the Metaspace pre-tokenizer names another).</summary>
    public char Replacement => _metaspace?.Replacement ?? '\u2581';

    /// <summary>
    /// Reads what encoding needs from tokenizer.json's <paramref name="root"/>; <paramref name="bpe"/> is the model's BPE
    /// with a pre-tokenizer that keeps a run whole. Throws Unsupported for a normalizer or pre-tokenizer it does not know.
    /// </summary>
    public static SentencePieceText Create(JsonElement root, JsonElement model, BpeTokenizer bpe, IReadOnlyDictionary<string, int> vocab, IReadOnlyDictionary<string, int> special, string path)
    {
        int[]? byteIds = null;
        if (model.TryGetProperty("byte_fallback", out var fallback) && fallback.ValueKind == JsonValueKind.True)
        {
            byteIds = new int[256];
            for (var b = 0; b < 256; b++)
            {
                byteIds[b] = vocab.TryGetValue(string.Create(CultureInfo.InvariantCulture, $"<0x{b:X2}>"), out var id) ? id : -1;
            }
        }

        int? unknownId = model.TryGetProperty("unk_token", out var unk) && unk.ValueKind == JsonValueKind.String
            && (vocab.TryGetValue(unk.GetString()!, out var u) || special.TryGetValue(unk.GetString()!, out u)) ? u : null;
        var fuse = model.TryGetProperty("fuse_unk", out var f) && f.ValueKind == JsonValueKind.True;
        var normalize = root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind == JsonValueKind.Object ? Normalizer(normalizer, path) : null;
        var metaspace = root.TryGetProperty("pre_tokenizer", out var pre) && pre.ValueKind == JsonValueKind.Object ? Metaspace.Read(pre, path) : null;
        return new SentencePieceText(bpe, vocab, special, normalize, metaspace, byteIds, unknownId, fuse);
    }

    /// <summary>
    /// The normalizer as a function, for the types decoders' tokenizer.json files use; throws Unsupported for others
    /// (a SentencePiece <c>Precompiled</c> charsmap, for instance). Byte-level tokenizers (Qwen's NFC) use it too.
    /// </summary>
    public static Func<string, string> Normalizer(JsonElement normalizer, string path)
    {
        var type = normalizer.TryGetProperty("type", out var t) ? t.GetString() : null;
        switch (type)
        {
            case "Sequence":
                var steps = normalizer.GetProperty("normalizers").EnumerateArray().Select(n => Normalizer(n, path)).ToArray();
                return text =>
                {
                    foreach (var step in steps)
                    {
                        text = step(text);
                    }

                    return text;
                };
            case "Prepend":
                var prefix = normalizer.GetProperty("prepend").GetString()!;
                return text => text.Length == 0 ? text : prefix + text;
            case "Replace":
                var content = normalizer.GetProperty("content").GetString()!;
                var pattern = normalizer.GetProperty("pattern");
                if (pattern.TryGetProperty("String", out var literal))
                {
                    var from = literal.GetString()!;
                    return text => text.Replace(from, content, StringComparison.Ordinal);
                }

                var regex = new Regex(pattern.GetProperty("Regex").GetString()!, RegexOptions.Compiled);
                return text => regex.Replace(text, content);
            case "NFC":
                return text => text.Normalize(NormalizationForm.FormC);
            case "NFD":
                return text => text.Normalize(NormalizationForm.FormD);
            case "NFKC":
                return text => text.Normalize(NormalizationForm.FormKC);
            case "NFKD":
                return text => text.Normalize(NormalizationForm.FormKD);
            case "Lowercase":
                return text => text.ToLowerInvariant();
            default:
                return ProntoErrors.Unsupported<Func<string, string>>($"'{path}': normalizer type '{type}' is not supported; Pronto reads Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD and Lowercase");
        }
    }

    public int[] Encode(string text)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        var start = 0;
        foreach (Match special in _specialPattern?.Matches(text) ?? (IEnumerable<Match>)[])
        {
            EncodeSection(text[start..special.Index], start, ids);
            ids.Add(_special[special.Value]);
            start = special.Index + special.Length;
        }

        EncodeSection(text[start..], start, ids);
        return [.. ids];
    }

    /// <summary>A token of the vocabulary or an added token by its text, or null.</summary>
    public int? TokenId(string token) => _special.TryGetValue(token, out var id) || _vocab.TryGetValue(token, out id) ? id : null;

    /// <summary>One section between added tokens, which starts at <paramref name="offset"/> of the whole text.</summary>
    private void EncodeSection(string section, int offset, List<int> ids)
    {
        if (section.Length == 0)
        {
            return;
        }

        if (_normalize is not null)
        {
            section = _normalize(section);
        }

        if (_metaspace is not { } meta)
        {
            EncodeWord(section, ids);
            return;
        }

        var r = meta.Replacement;
        section = section.Replace(' ', r);
        if ((meta.Prepend == PrependScheme.Always || (meta.Prepend == PrependScheme.First && offset == 0)) && !section.StartsWith(r))
        {
            section = r + section;
        }

        if (!meta.Split)
        {
            EncodeWord(section, ids);
            return;
        }

        // Split before each replacement character: "▁a▁b" is "▁a", "▁b".
        var from = 0;
        for (var i = 1; i <= section.Length; i++)
        {
            if (i == section.Length || section[i] == r)
            {
                EncodeWord(section[from..i], ids);
                from = i;
            }
        }
    }

    /// <summary>
    /// BPE over the runs of characters the vocabulary knows; a character it does not know is its UTF-8 bytes' tokens
    /// (byte fallback), else the unknown token (consecutive ones fused when the model says so).
    /// </summary>
    private void EncodeWord(string word, List<int> ids)
    {
        var run = 0;
        var lastUnknown = false;
        Span<byte> bytes = stackalloc byte[4];
        for (var i = 0; i < word.Length;)
        {
            var rune = Rune.GetRuneAt(word, i);
            var length = rune.Utf16SequenceLength;
            if (_vocab.ContainsKey(word.Substring(i, length)))
            {
                i += length;
                continue;
            }

            if (i > run)
            {
                ids.AddRange(_bpe.EncodeToIds(word[run..i]));
                lastUnknown = false;
            }

            var count = rune.EncodeToUtf8(bytes);
            if (_byteIds is { } byteIds && AllKnown(bytes[..count], byteIds))
            {
                foreach (var b in bytes[..count])
                {
                    ids.Add(byteIds[b]);
                }

                lastUnknown = false;
            }
            else if (_unknownId is { } unknown)
            {
                if (!(_fuseUnknown && lastUnknown))
                {
                    ids.Add(unknown);
                }

                lastUnknown = true;
            }
            else
            {
                ProntoErrors.InvalidArgument($"the text holds '{rune}', which the tokenizer's vocabulary does not have (no byte fallback and no unknown token)");
            }

            i += length;
            run = i;
        }

        if (run < word.Length)
        {
            ids.AddRange(_bpe.EncodeToIds(word[run..]));
        }
    }

    private static bool AllKnown(ReadOnlySpan<byte> bytes, int[] byteIds)
    {
        foreach (var b in bytes)
        {
            if (byteIds[b] < 0)
            {
                return false;
            }
        }

        return true;
    }

    private enum PrependScheme
    {
        Never,
        First,
        Always,
    }

    /// <summary>Hugging Face's Metaspace pre-tokenizer: its replacement character, prepend scheme and split.</summary>
    private sealed record Metaspace(char Replacement, PrependScheme Prepend, bool Split)
    {
        public static Metaspace? Read(JsonElement pre, string path)
        {
            var type = pre.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (type == "Sequence" && pre.GetProperty("pretokenizers") is { ValueKind: JsonValueKind.Array } steps && steps.GetArrayLength() == 1)
            {
                return Read(steps[0], path);
            }

            if (type != "Metaspace")
            {
                return ProntoErrors.Unsupported<Metaspace>($"'{path}': pre-tokenizer '{type}' is not supported for a BPE that is not byte-level; Pronto reads Metaspace (or none) there");
            }

            var replacement = pre.TryGetProperty("replacement", out var rep) ? rep.GetString() : "\u2581";
            if (replacement is not { Length: 1 })
            {
                return ProntoErrors.Unsupported<Metaspace>($"'{path}': the Metaspace replacement '{replacement}' is not one character");
            }

            // Older files write add_prefix_space (true: always); newer ones prepend_scheme. Split is true unless set.
            var prepend = pre.TryGetProperty("prepend_scheme", out var scheme) ? scheme.GetString() switch
            {
                "always" => PrependScheme.Always,
                "first" => PrependScheme.First,
                "never" => PrependScheme.Never,
                var other => ProntoErrors.Unsupported<PrependScheme>($"'{path}': Metaspace prepend_scheme '{other}' is not known"),
            }
            : pre.TryGetProperty("add_prefix_space", out var add) && add.ValueKind == JsonValueKind.False ? PrependScheme.Never : PrependScheme.Always;
            var split = !pre.TryGetProperty("split", out var s) || s.ValueKind != JsonValueKind.False;
            return new Metaspace(replacement[0], prepend, split);
        }
    }
}
