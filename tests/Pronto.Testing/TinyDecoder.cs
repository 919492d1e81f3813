using System.Globalization;
using System.Text;
using System.Text.Json;
using Pronto.Models.Fraud;
using Pronto.Models.Onnx;

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
    public static string Write(string repository, string name, int version = 1, ulong seed = 7, bool chatTemplate = true, IReadOnlyDictionary<string, string>? extraParameters = null)
    {
        var modelDir = Path.Combine(repository, name);
        var versionDir = Path.Combine(modelDir, version.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(versionDir);
        WriteModel(Path.Combine(versionDir, "model.onnx"), seed);
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
    public static string WriteGenai(string repository, string name, ulong seed = 7, DecoderShape? shape = null, int intraOpThreads = 0)
    {
        shape ??= Tiny;
        var versionDir = Path.Combine(repository, name, "1");
        Directory.CreateDirectory(versionDir);
        var path = Path.Combine(versionDir, "decoder.onnx");
        WriteModel(path, seed, shape);
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

    /// <summary>Writes the ONNX graph alone (for tests that run it directly).</summary>
    public static void WriteModel(string path, ulong seed = 7, DecoderShape? shape = null)
    {
        shape ??= Tiny;
        var (Layers, Heads, HeadDim, ContextLength) = (shape.Layers, shape.Heads, shape.HeadDim, shape.ContextLength);
        var Hidden = shape.Hidden;
        var random = new SplitMix64(seed);
        var graph = new GraphProto { Name = "tiny_decoder" };
        const TensorProto.Types.DataType F = TensorProto.Types.DataType.Float;
        const TensorProto.Types.DataType I = TensorProto.Types.DataType.Int64;
        graph.Input.Add(OnnxModelEditor.TensorValue("input_ids", I, "batch", "seq"));
        graph.Input.Add(OnnxModelEditor.TensorValue("attention_mask", I, "batch", "total_seq"));
        graph.Input.Add(OnnxModelEditor.TensorValue("position_ids", I, "batch", "seq"));
        for (var i = 0; i < Layers; i++)
        {
            graph.Input.Add(OnnxModelEditor.TensorValue(PastKey(i), F, "batch", (long)Heads, "past_seq", (long)HeadDim));
            graph.Input.Add(OnnxModelEditor.TensorValue(PastValue(i), F, "batch", (long)Heads, "past_seq", (long)HeadDim));
        }

        graph.Output.Add(OnnxModelEditor.TensorValue("logits", F, "batch", "seq", (long)VocabSize));
        for (var i = 0; i < Layers; i++)
        {
            graph.Output.Add(OnnxModelEditor.TensorValue(PresentKey(i), F, "batch", (long)Heads, "total_seq", (long)HeadDim));
            graph.Output.Add(OnnxModelEditor.TensorValue(PresentValue(i), F, "batch", (long)Heads, "total_seq", (long)HeadDim));
        }

        void Weights(string name, int rows, int columns, float scale)
        {
            var values = new float[rows * columns];
            for (var k = 0; k < values.Length; k++)
            {
                values[k] = random.NextSignedSingle() * scale;
            }

            graph.Initializer.Add(OnnxModelEditor.FloatTensor(name, [rows, columns], values));
        }

        void Node(string op, string[] inputs, string output, params AttributeProto[] attributes) =>
            graph.Node.Add(OnnxModelEditor.Node(op, output, inputs, [output], attributes));

        static AttributeProto Ints(string name, params long[] values) =>
            new() { Name = name, Type = AttributeProto.Types.AttributeType.Ints, Ints = { values } };

        var hiddenScale = 1f / MathF.Sqrt(Hidden);
        Weights("embed", VocabSize, Hidden, 1f);
        Weights("pos_embed", ContextLength, Hidden, 0.5f);
        graph.Initializer.Add(OnnxModelEditor.Int64Tensor("zero", [], [0]));
        graph.Initializer.Add(OnnxModelEditor.Int64Tensor("one", [], [1]));
        graph.Initializer.Add(OnnxModelEditor.Int64Tensor("axis1", [1], [1]));
        graph.Initializer.Add(OnnxModelEditor.Int64Tensor("axes12", [2], [1, 2]));
        graph.Initializer.Add(OnnxModelEditor.Int64Tensor("split_heads", [4], [0, 0, Heads, HeadDim]));
        graph.Initializer.Add(OnnxModelEditor.Int64Tensor("merge_heads", [3], [0, 0, Hidden]));
        graph.Initializer.Add(OnnxModelEditor.FloatTensor("zero_f", [], [0f]));
        graph.Initializer.Add(OnnxModelEditor.FloatTensor("masked_f", [], [-1e9f]));
        graph.Initializer.Add(OnnxModelEditor.FloatTensor("scale", [], [1f / MathF.Sqrt(HeadDim)]));

        Node("Gather", ["embed", "input_ids"], "tok");
        Node("Gather", ["pos_embed", "position_ids"], "pos");
        Node("Add", ["tok", "pos"], "x0");

        // Mask [batch, 1, seq, total_seq]: key j is visible to query i when j <= past + i and attention_mask[j] is 1.
        Node("Shape", ["input_ids"], "ids_shape");
        Node("Gather", ["ids_shape", "one"], "seq_len");
        Node("Shape", ["attention_mask"], "mask_shape");
        Node("Gather", ["mask_shape", "one"], "total_len");
        Node("Sub", ["total_len", "seq_len"], "past_len");
        Node("Range", ["past_len", "total_len", "one"], "query_pos");
        Node("Range", ["zero", "total_len", "one"], "key_pos");
        Node("Unsqueeze", ["query_pos", "axis1"], "query_col");
        Node("LessOrEqual", ["key_pos", "query_col"], "causal");
        Node("Cast", ["attention_mask"], "mask_bool", OnnxModelEditor.IntAttribute("to", (long)TensorProto.Types.DataType.Bool));
        Node("Unsqueeze", ["mask_bool", "axes12"], "mask4");
        Node("And", ["causal", "mask4"], "allowed");
        Node("Where", ["allowed", "zero_f", "masked_f"], "bias");

        var x = "x0";
        for (var i = 0; i < Layers; i++)
        {
            foreach (var part in new[] { "q", "k", "v" })
            {
                Weights($"w{part}{i}", Hidden, Hidden, hiddenScale);
                Node("MatMul", [x, $"w{part}{i}"], $"{part}{i}");
                Node("Reshape", [$"{part}{i}", "split_heads"], $"{part}{i}_4");
                Node("Transpose", [$"{part}{i}_4"], $"{part}{i}_t", Ints("perm", 0, 2, 1, 3));
            }

            graph.Node.Add(OnnxModelEditor.Node("Concat", $"concat_k{i}", [PastKey(i), $"k{i}_t"], [PresentKey(i)], OnnxModelEditor.IntAttribute("axis", 2)));
            graph.Node.Add(OnnxModelEditor.Node("Concat", $"concat_v{i}", [PastValue(i), $"v{i}_t"], [PresentValue(i)], OnnxModelEditor.IntAttribute("axis", 2)));
            Node("Transpose", [PresentKey(i)], $"kT{i}", Ints("perm", 0, 1, 3, 2));
            Node("MatMul", [$"q{i}_t", $"kT{i}"], $"scores{i}");
            Node("Mul", [$"scores{i}", "scale"], $"scaled{i}");
            Node("Add", [$"scaled{i}", "bias"], $"biased{i}");
            Node("Softmax", [$"biased{i}"], $"probs{i}", OnnxModelEditor.IntAttribute("axis", -1));
            Node("MatMul", [$"probs{i}", PresentValue(i)], $"attn{i}");
            Node("Transpose", [$"attn{i}"], $"attn{i}_t", Ints("perm", 0, 2, 1, 3));
            Node("Reshape", [$"attn{i}_t", "merge_heads"], $"attn{i}_m");
            Weights($"wo{i}", Hidden, Hidden, hiddenScale);
            Node("MatMul", [$"attn{i}_m", $"wo{i}"], $"o{i}");
            Node("Add", [x, $"o{i}"], $"x{i}_a");
            Weights($"w1_{i}", Hidden, 2 * Hidden, hiddenScale);
            Weights($"w2_{i}", 2 * Hidden, Hidden, 1f / MathF.Sqrt(2 * Hidden));
            Node("MatMul", [$"x{i}_a", $"w1_{i}"], $"h{i}");
            Node("Relu", [$"h{i}"], $"hr{i}");
            Node("MatMul", [$"hr{i}", $"w2_{i}"], $"m{i}");
            Node("Add", [$"x{i}_a", $"m{i}"], $"x{i + 1}");
            x = $"x{i + 1}";
        }

        Weights("lm_head", Hidden, VocabSize, 3f * hiddenScale);
        Node("MatMul", [x, "lm_head"], "logits");

        var model = new ModelProto { IrVersion = 8, ProducerName = "pronto-tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        OnnxModelEditor.Save(model, path);
    }

    /// <summary>Writes tokenizer.json (Hugging Face's format, a byte-level BPE) and tokenizer_config.json into <paramref name="folder"/>.</summary>
    public static void WriteTokenizer(string folder, bool chatTemplate = true)
    {
        var byteChars = ByteLevelAlphabet();
        using (var stream = File.Create(Path.Combine(folder, "tokenizer.json")))
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteStartArray("added_tokens");
            foreach (var (id, content) in new[] { (EndOfTextId, EndOfText), (ImStartId, ImStart), (ImEndId, ImEnd) })
            {
                w.WriteStartObject();
                w.WriteNumber("id", id);
                w.WriteString("content", content);
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
                w.WriteNumber(byteChars[b].ToString(), b);
            }

            for (var m = 0; m < Merges.Length; m++)
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
            w.WriteString("bos_token", EndOfText);
            w.WriteString("eos_token", ImEnd);
            w.WriteString("pad_token", EndOfText);
            if (chatTemplate)
            {
                // Qwen2's ChatML template, shortened to its message loop.
                w.WriteString("chat_template", "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}");
            }

            w.WriteNumber("model_max_length", ContextLength);
            w.WriteEndObject();
        }
    }

    /// <summary>GPT-2's byte-to-unicode table: printable bytes map to themselves, the others to 256 + n.</summary>
    public static char[] ByteLevelAlphabet()
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
