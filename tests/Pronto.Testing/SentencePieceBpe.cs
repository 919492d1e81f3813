using System.Globalization;
using System.Text.Json.Nodes;

namespace Pronto.Testing;

/// <summary>
/// A tiny SentencePiece-style BPE tokenizer.json as Llama 2, Mistral and Phi-3 ship it: <c>&lt;unk&gt;</c>,
/// <c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c> (ids 0-2), the 256 byte-fallback tokens <c>&lt;0x00&gt;</c>..<c>&lt;0xFF&gt;</c>
/// (ids 3-258), then <c>▁</c>-words built by merges, spelling "hello" and "world". Two layouts: the legacy one
/// (normalizer Prepend ▁ + Replace " " → ▁, no pre-tokenizer) and the newer one (no normalizer, a Metaspace
/// pre-tokenizer, prepend_scheme first, no split); both encode a text the same way.
/// </summary>
public static class SentencePieceBpe
{
    public const int Bos = 1;
    public const int Eos = 2;

    /// <summary>The id of the byte-fallback token of <paramref name="b"/>.</summary>
    public static int ByteId(byte b) => 3 + b;

    private static readonly string[] Pieces = ["▁", "h", "e", "l", "o", "w", "r", "d", "▁h", "ll", "▁he", "▁hell", "▁hello", "▁w", "or", "▁wor", "▁worl", "▁world"];
    private static readonly (string, string)[] Merges = [("▁", "h"), ("l", "l"), ("▁h", "e"), ("▁he", "ll"), ("▁hell", "o"), ("▁", "w"), ("o", "r"), ("▁w", "or"), ("▁wor", "l"), ("▁worl", "d")];

    /// <summary>The id of a <c>▁</c>-word or character of the vocabulary.</summary>
    public static int Id(string piece)
    {
        var index = Array.IndexOf(Pieces, piece);
        return index >= 0 ? 259 + index : throw new ArgumentException($"'{piece}' is not in the vocabulary", nameof(piece));
    }

    public static int VocabSize => 259 + Pieces.Length;

    /// <summary>Writes tokenizer.json and tokenizer_config.json (LlamaTokenizer, bos/eos) into <paramref name="folder"/>; returns the tokenizer.json path.</summary>
    public static string Write(string folder, bool metaspace = false)
    {
        Directory.CreateDirectory(folder);
        var vocab = new JsonObject { ["<unk>"] = 0, ["<s>"] = Bos, ["</s>"] = Eos };
        for (var b = 0; b < 256; b++)
        {
            vocab[string.Create(CultureInfo.InvariantCulture, $"<0x{b:X2}>")] = ByteId((byte)b);
        }

        foreach (var piece in Pieces)
        {
            vocab[piece] = Id(piece);
        }

        var added = new JsonArray();
        foreach (var (content, id) in (ReadOnlySpan<(string, int)>)[("<unk>", 0), ("<s>", Bos), ("</s>", Eos)])
        {
            added.Add(new JsonObject { ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true });
        }

        JsonNode Replace(string from, string to) => new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = from }, ["content"] = to };
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = added,
            ["normalizer"] = metaspace ? null : new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(new JsonObject { ["type"] = "Prepend", ["prepend"] = "▁" }, Replace(" ", "▁")),
            },
            ["pre_tokenizer"] = metaspace ? new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "first", ["split"] = false } : null,
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<s>", ["type_id"] = 0 } }, new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                ["special_tokens"] = new JsonObject { ["<s>"] = new JsonObject { ["id"] = "<s>", ["ids"] = new JsonArray(Bos), ["tokens"] = new JsonArray("<s>") } },
            },
            ["decoder"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["decoders"] = new JsonArray(Replace("▁", " "), new JsonObject { ["type"] = "ByteFallback" }, new JsonObject { ["type"] = "Fuse" }, new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 }),
            },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["unk_token"] = "<unk>",
                ["fuse_unk"] = true,
                ["byte_fallback"] = true,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray([.. Merges.Select(m => (JsonNode)new JsonArray(m.Item1, m.Item2))]),
            },
        };
        var path = Path.Combine(folder, "tokenizer.json");
        File.WriteAllText(path, root.ToJsonString());
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), new JsonObject { ["tokenizer_class"] = "LlamaTokenizer", ["bos_token"] = "<s>", ["eos_token"] = "</s>", ["unk_token"] = "<unk>" }.ToJsonString());
        return path;
    }
}
