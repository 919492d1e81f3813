using System.Buffers;
using System.Runtime.InteropServices;

namespace Pronto.Core.Tensors;

/// <summary>Views a <typeparamref name="T"/>[] as <see cref="Memory{T}"/> of bytes without copying it.</summary>
internal sealed class ArrayByteMemoryManager<T>(T[] array) : MemoryManager<byte> where T : unmanaged
{
    public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(array.AsSpan());

    public override unsafe MemoryHandle Pin(int elementIndex = 0)
    {
        var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
        var pointer = (byte*)handle.AddrOfPinnedObject() + elementIndex;
        return new MemoryHandle(pointer, handle, this);
    }

    public override void Unpin()
    {
        // The GCHandle travels in the MemoryHandle, which frees it on dispose.
    }

    protected override void Dispose(bool disposing)
    {
        // Nothing to release: the array belongs to the garbage collector.
    }
}
