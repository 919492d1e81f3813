using System.Buffers;
using System.CommandLine;
using System.Globalization;
using System.Text;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Processing;
using Pronto.Core.Protocol;
using Pronto.Core.Tensors;
using Spectre.Console;

namespace Pronto.Cli.Commands;

/// <summary>
/// <c>pronto predict NAME</c>: one inference on this machine, no network. Inputs come as the model's
/// processing expects them (<c>--json</c> fields, <c>--text</c>, <c>--image</c>) or as a protocol request (<c>--input</c>).
/// </summary>
internal static class PredictCommand
{
    /// <summary>Classes the table shows per row when <c>--top</c> is not given.</summary>
    private const int DefaultTop = 3;

    public static Command Create(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "The model to run." };
        var json = new Option<string[]>("--json") { Description = "A JSON object of named fields (repeat for a batch), for models that take fields.", AllowMultipleArgumentsPerToken = false };
        var text = new Option<string[]>("--text") { Description = "Text to embed or classify (repeat for a batch)." };
        var image = new Option<string[]>("--image") { Description = "Path of an image file (repeat for a batch)." };
        var input = new Option<string?>("--input") { Description = "A JSON inference request file (Open Inference Protocol v2 body)." };
        var top = new Option<int?>("--top", "-k")
        {
            Description = $"How many classes the table shows for a classifier (default {DefaultTop}). With --output json and --json, --text or --image, "
                + "the request asks for that many classes (the protocol's classification extension).",
        };
        var format = new Option<string>("--output", "-o") { Description = "table, or json: the protocol's response, as the server's REST infer writes it.", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json");
        var command = new Command("predict", "Run one prediction on this machine, fully offline.") { name, json, text, image, input, top, format };
        command.SetAction(parse =>
        {
            var request = new PredictRequest(
                parse.GetValue(name)!,
                parse.GetValue(json) ?? [],
                parse.GetValue(text) ?? [],
                parse.GetValue(image) ?? [],
                parse.GetValue(input),
                parse.GetValue(top),
                parse.GetValue(format)!);
            return Run(context, parse.GetValue(context.RepositoryOption), request);
        });
        return command;
    }

    private static int Run(CliContext context, string? repositoryPath, PredictRequest args)
    {
        if (args.Top is < 1)
        {
            ProntoErrors.InvalidArgument($"--top must be at least 1, got {args.Top}");
        }

        var json = args.Format == "json";
        if (json && args.Top is not null && args.InputFile is not null)
        {
            // The body is sent as it is; its outputs say which classes it wants.
            ProntoErrors.InvalidArgument("--top does not change an --input request; ask for classes in its outputs, e.g. "
                + "\"outputs\":[{\"name\":\"probabilities\",\"parameters\":{\"classification\":2}}]");
        }

        using var repository = context.OpenRepository(repositoryPath);
        repository.ModelDirectory(args.Model);
        repository.Load(args.Model);
        var service = CliContext.Service(repository);

        InferenceRequest request;
        ModelProcessing processing;
        using (var lease = repository.Acquire(args.Model))
        {
            request = BuildRequest(args, lease.Model);
            processing = lease.Model.Processing;
            if (json && args.Top is { } k)
            {
                request = WithClassification(request, InferenceService.DefaultOutputs(lease.Model), k);
            }
        }

        var response = service.InferDirect(request);
        if (json)
        {
            // Exactly the protocol's response, as RestEndpoints.Infer writes it (outputs a body asks as binary come as JSON data).
            var buffer = new ArrayBufferWriter<byte>();
            InferenceJson.WriteResponse(buffer, response);
            context.Output.WriteLine(Encoding.UTF8.GetString(buffer.WrittenSpan));
        }
        else
        {
            WriteTable(context, request, response, args.Top ?? DefaultTop, processing);
        }

        return ExitCodes.Success;
    }

    private static InferenceRequest WithClassification(InferenceRequest request, IReadOnlyList<RequestedOutput> outputs, int k) => new()
    {
        ModelName = request.ModelName,
        Inputs = request.Inputs,
        Outputs = [.. outputs.Select(o => o with { Classification = k })],
    };

    private static InferenceRequest BuildRequest(PredictRequest args, Core.Repository.ServedModel model)
    {
        var given = (args.Json.Length > 0 ? 1 : 0) + (args.Text.Length > 0 ? 1 : 0) + (args.Image.Length > 0 ? 1 : 0) + (args.InputFile is null ? 0 : 1);
        if (given != 1)
        {
            ProntoErrors.InvalidArgument($"give exactly one of --json, --text, --image or --input; model '{model.Name}' takes {Expected(model)}");
        }

        if (args.InputFile is not null)
        {
            if (!File.Exists(args.InputFile))
            {
                ProntoErrors.NotFound($"request file '{args.InputFile}' does not exist");
            }

            var body = File.ReadAllBytes(args.InputFile);
            return InferenceJson.ReadRequest(body.AsMemory(), body.Length, model.Name, null).Request;
        }

        var preparer = model.Processing.Preparer;
        var (inputName, items) = args switch
        {
            { Json.Length: > 0 } => ("fields", args.Json.Select(j => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(j)).ToArray()),
            { Text.Length: > 0 } => ("text", args.Text.Select(t => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(t)).ToArray()),
            _ => ("image", args.Image.Select(ReadImage).ToArray()),
        };
        if (preparer is null || preparer.InputName != inputName)
        {
            ProntoErrors.InvalidArgument($"model '{model.Name}' does not take --{(inputName == "fields" ? "json" : inputName)}; it takes {Expected(model)}");
        }

        return new InferenceRequest
        {
            ModelName = model.Name,
            Inputs = [new NamedTensor(inputName, Tensor.FromStrings(items, items.Length))],
        };
    }

    private static ReadOnlyMemory<byte> ReadImage(string path) => File.Exists(path)
        ? File.ReadAllBytes(path)
        : ProntoErrors.InvalidArgument<byte[]>($"image file '{path}' does not exist");

    private static string Expected(Core.Repository.ServedModel model) => model.Processing.Preparer switch
    {
        { InputName: "fields" } p => $"--json with {p.ItemDescription} ({string.Join(", ", ((FieldsPreparer)p).FieldNames)})",
        { InputName: "text" } => "--text",
        { InputName: "image" } => "--image",
        _ => "--input with a JSON inference request",
    };

    private static void WriteTable(CliContext context, InferenceRequest request, InferenceResponse response, int top, ModelProcessing processing)
    {
        foreach (var output in response.Outputs)
        {
            var tensor = output.Tensor;
            if (Classes(output, request, processing, top) is { } rows)
            {
                var table = new Table().AddColumns("Row", "Label", "Probability");
                for (var r = 0; r < rows.Length; r++)
                {
                    foreach (var c in rows[r])
                    {
                        table.AddRow(r.ToString(CultureInfo.InvariantCulture), Markup.Escape(c.Label), (c.Score * 100).ToString("F1", CultureInfo.InvariantCulture) + "%");
                    }
                }

                context.Console.Write(table);
                continue;
            }

            context.Output.WriteLine($"{output.Name}: {tensor}");
            if (tensor.DataType == DataType.FP32 && tensor.Rank == 2)
            {
                // An embedding per row: its norm, then its first values.
                var values = tensor.Span<float>();
                var dim = (int)tensor.Shape[1];
                for (var r = 0; r < tensor.Shape[0]; r++)
                {
                    var row = values.Slice(r * dim, dim);
                    var norm = 0.0;
                    foreach (var v in row)
                    {
                        norm += v * v;
                    }

                    var head = string.Join(", ", row[..Math.Min(HeadValues, dim)].ToArray().Select(v => v.ToString("F4", CultureInfo.InvariantCulture)));
                    context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  [{r}] norm {Math.Sqrt(norm):F4}: [{head}{(dim > HeadValues ? ", ..." : "")}]"));
                }
            }
            else
            {
                WriteValues(context.Output, tensor);
            }
        }
    }

    /// <summary>Values shown per row of an output.</summary>
    private const int HeadValues = 8;

    /// <summary>
    /// The classes of <paramref name="output"/> to show, best first, at most <paramref name="top"/> a row: read back from
    /// the classification extension's strings when the request asked for them, else the top scores of a labelled output.
    /// </summary>
    private static ClassScore[][]? Classes(NamedTensor output, InferenceRequest request, ModelProcessing processing, int top)
    {
        foreach (var asked in request.Outputs)
        {
            if (asked.Name == output.Name && asked.Classification > 0)
            {
                return [.. Classification.FromTensor(output.Tensor).Select(row => row[..Math.Min(top, row.Length)])];
            }
        }

        return processing.GetLabels(output.Name) is { } labels && output.Tensor.DataType is DataType.FP32 or DataType.FP64
            ? Classification.TopK(output.Tensor, top, labels)
            : null;
    }

    /// <summary>Any other output: its first values per row (a row is the first dimension's element; a scalar or 1-D output is one row).</summary>
    private static void WriteValues(TextWriter writer, Tensor tensor)
    {
        var count = (int)tensor.ElementCount;
        var rows = tensor.Rank >= 2 ? (int)tensor.Shape[0] : 1;
        var width = rows == 0 ? 0 : count / rows;
        for (var r = 0; r < rows; r++)
        {
            var head = new StringBuilder();
            for (var i = 0; i < Math.Min(HeadValues, width); i++)
            {
                head.Append(i == 0 ? "" : ", ").Append(Element(tensor, (r * width) + i));
            }

            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  [{r}] [{head}{(width > HeadValues ? ", ..." : "")}]"));
        }
    }

    private static string Element(Tensor tensor, int i) => tensor.DataType switch
    {
        DataType.Bytes => "\"" + tensor.GetString(i) + "\"",
        DataType.FP32 => tensor.Span<float>()[i].ToString("G6", CultureInfo.InvariantCulture),
        DataType.FP64 => tensor.Span<double>()[i].ToString("G6", CultureInfo.InvariantCulture),
        DataType.FP16 => ((float)tensor.Span<Half>()[i]).ToString("G6", CultureInfo.InvariantCulture),
        DataType.Bool => tensor.Span<bool>()[i] ? "true" : "false",
        DataType.Int8 => tensor.Span<sbyte>()[i].ToString(CultureInfo.InvariantCulture),
        DataType.Int16 => tensor.Span<short>()[i].ToString(CultureInfo.InvariantCulture),
        DataType.Int32 => tensor.Span<int>()[i].ToString(CultureInfo.InvariantCulture),
        DataType.Int64 => tensor.Span<long>()[i].ToString(CultureInfo.InvariantCulture),
        DataType.UInt8 => tensor.Span<byte>()[i].ToString(CultureInfo.InvariantCulture),
        DataType.UInt16 => tensor.Span<ushort>()[i].ToString(CultureInfo.InvariantCulture),
        DataType.UInt32 => tensor.Span<uint>()[i].ToString(CultureInfo.InvariantCulture),
        DataType.UInt64 => tensor.Span<ulong>()[i].ToString(CultureInfo.InvariantCulture),
        // BF16 is the top half of an FP32.
        DataType.BF16 => BitConverter.Int32BitsToSingle(tensor.Span<ushort>()[i] << 16).ToString("G6", CultureInfo.InvariantCulture),
        _ => "?",
    };

    private sealed record PredictRequest(string Model, string[] Json, string[] Text, string[] Image, string? InputFile, int? Top, string Format);
}
