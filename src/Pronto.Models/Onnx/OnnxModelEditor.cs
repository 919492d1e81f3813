using Google.Protobuf;

namespace Pronto.Models.Onnx;

/// <summary>
/// Small, reusable edits on an ONNX <see cref="ModelProto"/> (compiled from the minimal
/// <c>onnx.proto</c> next to this file; fields it does not list survive as unknown fields).
/// Used to turn exporter output into Pronto's serving contract: rename tensors, make the batch
/// dimension symbolic, drop unused inputs/outputs and append post-processing nodes.
/// </summary>
internal static class OnnxModelEditor
{
    /// <summary>Parses an ONNX model file.</summary>
    public static ModelProto Load(string path) => ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));

    /// <summary>Parses an ONNX model from bytes.</summary>
    public static ModelProto Load(ReadOnlySpan<byte> bytes) => ModelProto.Parser.ParseFrom(bytes);

    /// <summary>
    /// Writes the model. Google.Protobuf serialises fields in field-number order and this schema has
    /// no map fields, so the same <see cref="ModelProto"/> always gives the same bytes.
    /// </summary>
    public static void Save(ModelProto model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        File.WriteAllBytes(path, model.ToByteArray());
    }

    /// <summary>
    /// Sets dimension 0 of every graph input and output to the symbolic <paramref name="symbolicName"/>
    /// (e.g. "batch"), so runtimes accept any batch size. Inputs that are initializers (constants
    /// listed as inputs by older exporters) and rank-0 tensors are left alone. <c>value_info</c> entries
    /// for those same tensors are updated; other intermediate shapes are not touched (call
    /// <see cref="ClearValueInfo"/> if they pin the batch).
    /// </summary>
    public static void SetBatchDimension(ModelProto model, string symbolicName)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(symbolicName);
        var graph = model.Graph ?? throw new ArgumentException("Model has no graph.", nameof(model));
        var initializers = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var boundary = graph.Input.Where(v => !initializers.Contains(v.Name)).Concat(graph.Output).ToList();

        // Some exporters repeat graph inputs/outputs in value_info with the fixed batch; runtimes then
        // report the stale fixed size, so those duplicates get the symbolic dimension too.
        var boundaryNames = boundary.Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
        boundary.AddRange(graph.ValueInfo.Where(v => boundaryNames.Contains(v.Name)));
        foreach (var value in boundary)
        {
            var shape = value.Type?.TensorType?.Shape;
            if (shape is null || shape.Dim.Count == 0)
            {
                continue;
            }

            shape.Dim[0] = new TensorShapeProto.Types.Dimension { DimParam = symbolicName };
        }
    }

    /// <summary>
    /// Renames a tensor everywhere it appears: graph inputs/outputs, node inputs/outputs,
    /// initializers and value_info (subgraphs included).
    /// </summary>
    public static void RenameValue(GraphProto graph, string oldName, string newName)
    {
        ArgumentNullException.ThrowIfNull(graph);
        foreach (var value in graph.Input.Concat(graph.Output).Concat(graph.ValueInfo).Where(v => v.Name == oldName))
        {
            value.Name = newName;
        }

        foreach (var tensor in graph.Initializer.Where(t => t.Name == oldName))
        {
            tensor.Name = newName;
        }

        foreach (var node in graph.Node)
        {
            Replace(node.Input, oldName, newName);
            Replace(node.Output, oldName, newName);
            foreach (var attribute in node.Attribute)
            {
                if (attribute.G is not null)
                {
                    RenameValue(attribute.G, oldName, newName);
                }

                foreach (var subgraph in attribute.Graphs)
                {
                    RenameValue(subgraph, oldName, newName);
                }
            }
        }
    }

    /// <summary>Keeps only the named graph outputs, in the given order.</summary>
    public static void KeepOutputs(GraphProto graph, params string[] names)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var kept = names
            .Select(n => graph.Output.FirstOrDefault(o => o.Name == n)
                ?? throw new ArgumentException($"Graph has no output '{n}'.", nameof(names)))
            .ToList();
        graph.Output.Clear();
        graph.Output.AddRange(kept);
    }

    /// <summary>
    /// Removes everything the graph outputs do not depend on: nodes, initializers, value_info and
    /// graph inputs that are no longer consumed (e.g. an exporter's label input).
    /// </summary>
    public static void PruneUnused(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var needed = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);

        // Nodes are topologically sorted in a valid ONNX graph, so one backward pass finds every live node.
        var live = new List<NodeProto>();
        for (var i = graph.Node.Count - 1; i >= 0; i--)
        {
            var node = graph.Node[i];
            if (!node.Output.Any(needed.Contains))
            {
                continue;
            }

            live.Add(node);
            needed.UnionWith(node.Input.Where(n => n.Length > 0));
            needed.UnionWith(node.Attribute.SelectMany(SubgraphInputs));
        }

        live.Reverse();
        graph.Node.Clear();
        graph.Node.AddRange(live);

        RemoveWhere(graph.Input, v => !needed.Contains(v.Name));
        RemoveWhere(graph.Initializer, t => !needed.Contains(t.Name));
        RemoveWhere(graph.ValueInfo, v => !needed.Contains(v.Name));
    }

    /// <summary>
    /// Drops all intermediate <c>value_info</c> (shape hints). Runtimes re-infer them; stale hints with a
    /// fixed batch size would otherwise conflict with a symbolic batch dimension.
    /// </summary>
    public static void ClearValueInfo(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        graph.ValueInfo.Clear();
    }

    /// <summary>Makes sure the model imports <paramref name="domain"/> at least at <paramref name="version"/>.</summary>
    public static void EnsureOpset(ModelProto model, string domain, long version)
    {
        ArgumentNullException.ThrowIfNull(model);
        var existing = model.OpsetImport.FirstOrDefault(o => (o.HasDomain ? o.Domain : string.Empty) == domain);
        if (existing is null)
        {
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
        }
        else if (existing.Version < version)
        {
            existing.Version = version;
        }
    }

    /// <summary>A node of the default ONNX domain.</summary>
    public static NodeProto Node(string opType, string name, IEnumerable<string> inputs, IEnumerable<string> outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    /// <summary>An INT attribute.</summary>
    public static AttributeProto IntAttribute(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>An FP32 constant tensor (values in float_data, so no byte-order concerns).</summary>
    public static TensorProto FloatTensor(string name, ReadOnlySpan<long> dims, ReadOnlySpan<float> values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims.ToArray());
        tensor.FloatData.AddRange(values.ToArray());
        return tensor;
    }

    /// <summary>An INT64 constant tensor.</summary>
    public static TensorProto Int64Tensor(string name, ReadOnlySpan<long> dims, ReadOnlySpan<long> values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.AddRange(dims.ToArray());
        tensor.Int64Data.AddRange(values.ToArray());
        return tensor;
    }

    /// <summary>
    /// A tensor value description. Each dimension is a <see cref="long"/> (fixed size) or a
    /// <see cref="string"/> (symbolic, e.g. "batch").
    /// </summary>
    public static ValueInfoProto TensorValue(string name, TensorProto.Types.DataType elementType, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(dim switch
            {
                long size => new TensorShapeProto.Types.Dimension { DimValue = size },
                int size => new TensorShapeProto.Types.Dimension { DimValue = size },
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                _ => throw new ArgumentException($"Dimension must be a long, int or string, not {dim?.GetType().Name ?? "null"}.", nameof(dims)),
            });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)elementType, Shape = shape } },
        };
    }

    private static IEnumerable<string> SubgraphInputs(AttributeProto attribute)
    {
        // Control-flow subgraphs (If/Loop/Scan) may read outer-scope values by name: keep them alive.
        var graphs = attribute.G is null ? attribute.Graphs : attribute.Graphs.Append(attribute.G);
        return graphs.SelectMany(g => g.Node.SelectMany(n => n.Input.Concat(n.Attribute.SelectMany(SubgraphInputs))));
    }

    private static void Replace(Google.Protobuf.Collections.RepeatedField<string> names, string oldName, string newName)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i] == oldName)
            {
                names[i] = newName;
            }
        }
    }

    private static void RemoveWhere<T>(Google.Protobuf.Collections.RepeatedField<T> items, Func<T, bool> predicate)
    {
        for (var i = items.Count - 1; i >= 0; i--)
        {
            if (predicate(items[i]))
            {
                items.RemoveAt(i);
            }
        }
    }
}
