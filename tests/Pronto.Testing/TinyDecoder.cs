using System.Globalization;
using System.Text;
using Pronto.Models.Fraud;
using Pronto.Models.Generative;

namespace Pronto.Testing;

/// <summary>
/// A tiny decoder-only language model in Hugging Face Optimum's ONNX layout, written by the tests with fixed random
/// weights, and its byte-level BPE tokenizer (tokenizer.json, tokenizer_config.json with a ChatML chat template):
/// <c>input_ids</c> [batch, seq] int64, <c>attention_mask</c> [batch, total_seq] int64, <c>position_ids</c>
/// [batch, seq] int64, <c>past_key_values.{i}.key/value</c> [batch, heads, past_seq, head_dim] float -> <c>logits</c>
/// [batch, seq, vocab], <c>present.{i}.key/value</c> [batch, heads, total_seq, head_dim].
/// Each layer is causal multi-head self-attention over past + current keys (masked by attention_mask) and a ReLU
/// MLP, both residual; learned position embeddings; an untied LM head.
/// </summary>
/// <summary>A decoder's size: the tiny one the tests use, or a larger one the generation benchmark writes.</summary>
public sealed record DecoderShape(int Layers, int Heads, int HeadDim, int ContextLength)
{
    public int Hidden => Heads * HeadDim;

    /// <summary>Weights: embeddings, 8 x hidden^2 per layer (q, k, v, o and a 2 x hidden MLP), the head.</summary>
    public long Parameters(int vocab) => ((long)vocab * Hidden) + ((long)ContextLength * Hidden) + (8L * Hidden * Hidden * Layers) + ((long)Hidden * vocab);
}

public static class TinyDecoder
{
    public const int Layers = 2;
    public const int Heads = 2;
    public const int HeadDim = 8;
    public const int Hidden = Heads * HeadDim;
    public const int ContextLength = 96;

    /// <summary>The tests' decoder: 2 layers, 2 heads of 8, context 96.</summary>
    public static DecoderShape Tiny { get; } = new(Layers, Heads, HeadDim, ContextLength);

    public const string EndOfText = "<|endoftext|>";
    public const string ImStart = "<|im_start|>";
    public const string ImEnd = "<|im_end|>";

    /// <summary>The merges after the 256 byte tokens, in rank order ('Ġ' is GPT-2's byte-level space).</summary>
    private static readonly (string Left, string Right)[] Merges =
    [
        ("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("Ġ", "a"), ("i", "n"), ("o", "n"), ("e", "r"), ("Ġ", "s"),
        ("l", "l"), ("Ġ", "w"), ("o", "r"), ("Ġa", "nd"), ("n", "d"), ("Ġ", "o"), ("a", "t"), ("e", "n"),
    ];

    /// <summary>Byte tokens (256), merges, then the special tokens.</summary>
    public static int VocabSize => 256 + Merges.Length + 3;

    public static int EndOfTextId => 256 + Merges.Length;

    public static int ImStartId => EndOfTextId + 1;

    public static int ImEndId => EndOfTextId + 2;

    public static string PastKey(int layer) => $"past_key_values.{layer}.key";

    public static string PastValue(int layer) => $"past_key_values.{layer}.value";

    public static string PresentKey(int layer) => $"present.{layer}.key";

    public static string PresentValue(int layer) => $"present.{layer}.value";

    /// <summary>
    /// Writes <c>&lt;repository&gt;/&lt;name&gt;/config.pbtxt</c> (generative, with <paramref name="extraParameters"/>)
    /// and version <paramref name="version"/>'s model.onnx and tokenizer files. Returns the version folder.
    /// </summary>
    public static string Write(string repository, string name, int version = 1, ulong seed = 7, string? chatTemplate = ByteLevelBpe.ChatMlTemplate, IReadOnlyDictionary<string, string>? extraParameters = null, bool groupQueryAttention = false, bool float16 = false)
    {
        var modelDir = Path.Combine(repository, name);
        var versionDir = Path.Combine(modelDir, version.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(versionDir);
        WriteModel(Path.Combine(versionDir, "model.onnx"), seed, groupQueryAttention: groupQueryAttention, float16: float16);
        WriteTokenizer(versionDir, chatTemplate);
        var config = new StringBuilder();
        config.Append(CultureInfo.InvariantCulture, $"name: \"{name}\"\nplatform: \"onnxruntime_onnx\"\n");
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["pronto.generative"] = "true",
            ["pronto.generative.context_length"] = ContextLength.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in extraParameters ?? new Dictionary<string, string>())
        {
            parameters[key] = value;
        }

        foreach (var (key, value) in parameters)
        {
            config.Append(CultureInfo.InvariantCulture, $"parameters {{ key: \"{key}\" value {{ string_value: \"{value}\" }} }}\n");
        }

        File.WriteAllText(Path.Combine(modelDir, "config.pbtxt"), config.ToString());
        return versionDir;
    }

    /// <summary>
    /// The same decoder in ONNX Runtime GenAI's folder layout, as its model builder writes one: REPOSITORY/NAME/1 with
    /// decoder.onnx whose cache tensors are renamed to GenAI's <c>past_key_values.%d.key</c> -> <c>past_key_%d</c> style
    /// (<c>past_key_%d</c>, <c>past_value_%d</c>, <c>present_key_%d</c>, <c>present_value_%d</c>), the tokenizer files and
    /// a genai_config.json that names them; no config.pbtxt. Returns the version folder.
    /// </summary>
    public static string WriteGenai(string repository, string name, ulong seed = 7, DecoderShape? shape = null, int intraOpThreads = 0, bool groupQueryAttention = false)
    {
        shape ??= Tiny;
        var versionDir = Path.Combine(repository, name, "1");
        Directory.CreateDirectory(versionDir);
        var path = Path.Combine(versionDir, "decoder.onnx");
        WriteModel(path, seed, shape, groupQueryAttention);
        var model = Pronto.Models.Onnx.OnnxModelEditor.Load(path);
        for (var i = 0; i < shape.Layers; i++)
        {
            Pronto.Models.Onnx.OnnxModelEditor.RenameValue(model.Graph, PastKey(i), $"past_key_{i}");
            Pronto.Models.Onnx.OnnxModelEditor.RenameValue(model.Graph, PastValue(i), $"past_value_{i}");
            Pronto.Models.Onnx.OnnxModelEditor.RenameValue(model.Graph, PresentKey(i), $"present_key_{i}");
            Pronto.Models.Onnx.OnnxModelEditor.RenameValue(model.Graph, PresentValue(i), $"present_value_{i}");
        }

        Pronto.Models.Onnx.OnnxModelEditor.Save(model, path);
        WriteTokenizer(versionDir);
        File.WriteAllText(Path.Combine(versionDir, "genai_config.json"), $$"""
            {
              "model": {
                "type": "llama",
                "context_length": {{shape.ContextLength}},
                "eos_token_id": {{EndOfTextId}},
                "bos_token_id": {{EndOfTextId}},
                "pad_token_id": {{EndOfTextId}},
                "vocab_size": {{VocabSize}},
                "decoder": {
                  "filename": "decoder.onnx",
                  "session_options": {{(intraOpThreads > 0 ? $"{{\"intra_op_num_threads\": {intraOpThreads}}}" : "{}")}},
                  "head_size": {{shape.HeadDim}},
                  "num_attention_heads": {{shape.Heads}},
                  "num_key_value_heads": {{shape.Heads}},
                  "num_hidden_layers": {{shape.Layers}},
                  "hidden_size": {{shape.Hidden}},
                  "inputs": {
                    "input_ids": "input_ids",
                    "attention_mask": "attention_mask",
                    "past_key_names": "past_key_%d",
                    "past_value_names": "past_value_%d"
                  },
                  "outputs": {
                    "logits": "logits",
                    "present_key_names": "present_key_%d",
                    "present_value_names": "present_value_%d"
                  }
                }
              },
              "search": { "max_length": {{shape.ContextLength}}, "do_sample": false }
            }
            """);
        return versionDir;
    }

    /// <summary>
    /// Writes the ONNX graph alone (for tests that run it directly); with <paramref name="groupQueryAttention"/> its
    /// attention is ONNX Runtime's GroupQueryAttention, as GenAI's model builder writes it (same weights, same logits).
    /// </summary>
    public static void WriteModel(string path, ulong seed = 7, DecoderShape? shape = null, bool groupQueryAttention = false, bool float16 = false)
    {
        shape ??= Tiny;
        var hidden = shape.Hidden;
        var random = new SplitMix64(seed);
        var weights = new DecoderWeights(new DecoderDims(VocabSize, shape.Layers, shape.Heads, shape.HeadDim, shape.ContextLength, 2 * hidden, LayerNorm: false));
        void Fill(float[] values, float scale)
        {
            for (var k = 0; k < values.Length; k++)
            {
                values[k] = random.NextSignedSingle() * scale;
            }
        }

        var hiddenScale = 1f / MathF.Sqrt(hidden);
        Fill(weights.Embed, 1f);
        Fill(weights.Positions, 0.5f);
        foreach (var layer in weights.Layers)
        {
            Fill(layer.Query, hiddenScale);
            Fill(layer.Key, hiddenScale);
            Fill(layer.Value, hiddenScale);
            Fill(layer.Output, hiddenScale);
            Fill(layer.Up, hiddenScale);
            Fill(layer.Down, 1f / MathF.Sqrt(2 * hidden));
        }

        Fill(weights.Head, 3f * hiddenScale);
        weights.WriteOnnx(path, "pronto-tests", groupQueryAttention, float16);
    }

    /// <summary>
    /// A chat template of Llama 3's shape: bos_token first, the system message taken out and trimmed, roles that must alternate (the
    /// template raises otherwise), each message's header and end marker, then the assistant's header.
    /// </summary>
    public const string LlamaStyleTemplate =
        "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system = messages[0]['content'] | trim %}"
        + "{% else %}{% set loop_messages = messages %}{% set system = 'You are a helpful assistant.' %}{% endif %}"
        + "<|im_start|>system\n{{ system }}{{ eos_token }}"
        + "{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        + "<|im_start|>{{ message['role'] }}\n{{ message['content'] | trim }}{{ eos_token }}{% endfor %}"
        + "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

    /// <summary>
    /// Gives <paramref name="folder"/>'s tokenizer.json a post-processor that puts <c>&lt;|endoftext|&gt;</c> before a
    /// single sequence (Llama's TemplateProcessing for its BOS), inside a Sequence with ByteLevel when
    /// <paramref name="inSequence"/> (Llama 3.1's layout); with <paramref name="suffix"/>, <c>&lt;|im_end|&gt;</c> after it too.
    /// </summary>
    public static void AddBosPostProcessor(string folder, bool inSequence = false, bool suffix = false)
    {
        var path = Path.Combine(folder, "tokenizer.json");
        var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var single = new System.Text.Json.Nodes.JsonArray
        {
            new System.Text.Json.Nodes.JsonObject { ["SpecialToken"] = new System.Text.Json.Nodes.JsonObject { ["id"] = EndOfText, ["type_id"] = 0 } },
            new System.Text.Json.Nodes.JsonObject { ["Sequence"] = new System.Text.Json.Nodes.JsonObject { ["id"] = "A", ["type_id"] = 0 } },
        };
        var specials = new System.Text.Json.Nodes.JsonObject
        {
            [EndOfText] = new System.Text.Json.Nodes.JsonObject { ["id"] = EndOfText, ["ids"] = new System.Text.Json.Nodes.JsonArray(EndOfTextId), ["tokens"] = new System.Text.Json.Nodes.JsonArray(EndOfText) },
        };
        if (suffix)
        {
            single.Add(new System.Text.Json.Nodes.JsonObject { ["SpecialToken"] = new System.Text.Json.Nodes.JsonObject { ["id"] = ImEnd, ["type_id"] = 0 } });
            specials[ImEnd] = new System.Text.Json.Nodes.JsonObject { ["id"] = ImEnd, ["ids"] = new System.Text.Json.Nodes.JsonArray(ImEndId), ["tokens"] = new System.Text.Json.Nodes.JsonArray(ImEnd) };
        }

        var template = new System.Text.Json.Nodes.JsonObject { ["type"] = "TemplateProcessing", ["single"] = single, ["pair"] = new System.Text.Json.Nodes.JsonArray(), ["special_tokens"] = specials };
        root["post_processor"] = inSequence
            ? new System.Text.Json.Nodes.JsonObject
            {
                ["type"] = "Sequence",
                ["processors"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["type"] = "ByteLevel", ["trim_offsets"] = false }, template),
            }
            : template;
        File.WriteAllText(path, root.ToJsonString());
    }

    /// <summary>The decoder's outputs in order: logits, then each layer's present key and value.</summary>
    public static string[] OutputNames { get; } = ["logits", .. Enumerable.Range(0, Layers).SelectMany(i => new[] { PresentKey(i), PresentValue(i) })];

    /// <summary>
    /// One batch-1 run of the decoder in <paramref name="instance"/>: <paramref name="ids"/> after
    /// <paramref name="pastLength"/> cached tokens, whose keys and values are <paramref name="present"/>'s presents
    /// (a previous run's outputs; null: none).
    /// </summary>
    public static IReadOnlyList<Pronto.Core.Inference.NamedTensor> Run(Pronto.Core.Backends.IModelInstance instance, long[] ids, long pastLength, IReadOnlyList<Pronto.Core.Inference.NamedTensor>? present)
    {
        var seq = ids.Length;
        var total = pastLength + seq;
        var inputs = new List<Pronto.Core.Inference.NamedTensor>
        {
            new("input_ids", Pronto.Core.Tensors.Tensor.Create(ids, 1, seq)),
            new("attention_mask", Pronto.Core.Tensors.Tensor.Create(Enumerable.Repeat(1L, (int)total).ToArray(), 1, total)),
            new("position_ids", Pronto.Core.Tensors.Tensor.Create(Enumerable.Range((int)pastLength, seq).Select(p => (long)p).ToArray(), 1, seq)),
        };
        for (var i = 0; i < Layers; i++)
        {
            var empty = Pronto.Core.Tensors.Tensor.Create(Array.Empty<float>(), 1, Heads, 0, HeadDim);
            inputs.Add(new(PastKey(i), present?[1 + (2 * i)].Tensor ?? empty));
            inputs.Add(new(PastValue(i), present?[2 + (2 * i)].Tensor ?? empty));
        }

        return instance.Run(inputs, OutputNames, CancellationToken.None);
    }

    /// <summary>The tests' tokenizer: the merges above and the three special tokens.</summary>
    public static ByteLevelBpe Tokenizer { get; } = new(Merges, [EndOfText, ImStart, ImEnd]);

    /// <summary>Writes tokenizer.json (Hugging Face's format, a byte-level BPE) and tokenizer_config.json into <paramref name="folder"/>.</summary>
    public static void WriteTokenizer(string folder, string? chatTemplate = ByteLevelBpe.ChatMlTemplate) =>
        Tokenizer.Write(folder, EndOfText, ImEnd, ContextLength, chatTemplate);
}
