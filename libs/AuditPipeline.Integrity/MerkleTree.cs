using AuditPipeline.Contracts;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace AuditPipeline.Integrity;

/// <summary>
/// A Merkle tree over the log in store order, hashed as in RFC 6962 / RFC 9162 §2.1:
/// leaf hash = SHA-256(0x00 ‖ leaf data), node hash = SHA-256(0x01 ‖ left ‖ right), and a tree
/// of n leaves splits at the largest power of two below n. The leaf data of an event is
/// "AUDITPIPELINE-LEAF-V1" ‖ log position (8 bytes, big-endian) ‖ its chain hash, so a leaf
/// commits to the event's whole canonical record through the chain hash.
/// Perfect subtrees are kept level by level, so any root or proof costs O(log² n) hashes.
/// </summary>
public sealed class MerkleTree
{
    private static readonly byte[] LeafDomain = "AUDITPIPELINE-LEAF-V1"u8.ToArray();
    private readonly List<List<byte[]>> _levels = [[]];

    public long Size => _levels[0].Count;

    public static byte[] LeafData(long position, ReadOnlySpan<byte> chainHash)
    {
        var data = new byte[LeafDomain.Length + 8 + chainHash.Length];
        LeafDomain.CopyTo(data, 0);
        BinaryPrimitives.WriteInt64BigEndian(data.AsSpan(LeafDomain.Length), position);
        chainHash.CopyTo(data.AsSpan(LeafDomain.Length + 8));
        return data;
    }

    /// <summary>The leaf hash of the event at <paramref name="position"/>, without intermediate arrays (verifiers do this per event).</summary>
    public static byte[] LeafHashOf(long position, ReadOnlySpan<byte> chainHash)
    {
        if (chainHash.Length != 32)
        {
            return LeafHash(LeafData(position, chainHash));
        }
        Span<byte> buffer = stackalloc byte[1 + 21 + 8 + 32];
        buffer[0] = 0x00;
        LeafDomain.CopyTo(buffer[1..]);
        BinaryPrimitives.WriteInt64BigEndian(buffer[(1 + LeafDomain.Length)..], position);
        chainHash.CopyTo(buffer[(1 + LeafDomain.Length + 8)..]);
        return Sha256.Hash(buffer);
    }

    public static byte[] LeafHash(ReadOnlySpan<byte> leafData)
    {
        Span<byte> buffer = leafData.Length < 1024 ? stackalloc byte[leafData.Length + 1] : new byte[leafData.Length + 1];
        buffer[0] = 0x00;
        leafData.CopyTo(buffer[1..]);
        return Sha256.Hash(buffer);
    }

    public static byte[] NodeHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        Span<byte> buffer = stackalloc byte[65];
        buffer[0] = 0x01;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[33..]);
        return Sha256.Hash(buffer);
    }

    /// <summary>The root of the empty tree: SHA-256 of nothing.</summary>
    public static byte[] EmptyRoot() => SHA256.HashData([]);

    /// <summary>Appends a leaf (its leaf hash) and completes the perfect subtrees it closes.</summary>
    public void Append(byte[] leafHash)
    {
        _levels[0].Add(leafHash);
        var index = _levels[0].Count - 1;
        for (var level = 0; (index & 1) == 1; level++, index >>= 1)
        {
            if (_levels.Count == level + 1)
            {
                _levels.Add([]);
            }
            _levels[level + 1].Add(NodeHash(_levels[level][index - 1], _levels[level][index]));
        }
    }

    /// <summary>The root of the first <paramref name="size"/> leaves (a checkpoint of an earlier log).</summary>
    public byte[] Root(long size)
    {
        Check(size, allowZero: true);
        return MerkleProofBuilder.Root(size, Node);
    }

    /// <summary>Inclusion proof (RFC 9162 §2.1.3.1) of leaf <paramref name="index"/> in the tree of the first <paramref name="size"/> leaves.</summary>
    public List<byte[]> InclusionProof(long index, long size)
    {
        Check(size, allowZero: false);
        return MerkleProofBuilder.InclusionProof(index, size, Node);
    }

    /// <summary>Consistency proof (RFC 9162 §2.1.4.1) that the tree of <paramref name="oldSize"/> leaves is a prefix of the tree of <paramref name="newSize"/>.</summary>
    public List<byte[]> ConsistencyProof(long oldSize, long newSize)
    {
        Check(newSize, allowZero: false);
        return MerkleProofBuilder.ConsistencyProof(oldSize, newSize, Node);
    }

    /// <summary>The perfect subtree at (level, index): leaves [index·2^level, (index+1)·2^level).</summary>
    public byte[] Node(int level, long index) => _levels[level][(int)index];

    private void Check(long size, bool allowZero)
    {
        if (size < (allowZero ? 0 : 1) || size > Size)
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"the tree holds {Size} leaves; asked for {size}");
        }
    }

    /// <summary>The largest power of two strictly below n (n ≥ 2).</summary>
    public static long LargestPowerOfTwoBelow(long n) => 1L << System.Numerics.BitOperations.Log2((ulong)(n - 1));
}

/// <summary>
/// Roots and proofs of RFC 9162 §2.1 over any source of perfect subtrees: <c>node(level, index)</c>
/// returns the hash of leaves [index·2^level, (index+1)·2^level). Every subtree the RFC recursion
/// asks for whose size is a power of two is such an aligned node, so a source only needs those:
/// the in-memory tree keeps all levels, the stored tree keeps the upper levels in PostgreSQL and
/// rebuilds the lower ones from the events. The control flow never depends on hash values, so a
/// source may first be run as a recorder to learn which nodes to fetch.
/// </summary>
public static class MerkleProofBuilder
{
    public static byte[] Root(long size, Func<int, long, byte[]> node)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        return size == 0 ? MerkleTree.EmptyRoot() : Hash(0, size, node);
    }

    public static List<byte[]> InclusionProof(long index, long size, Func<int, long, byte[]> node)
    {
        if (index < 0 || index >= size)
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"leaf {index} is not in a tree of {size}");
        }
        var proof = new List<byte[]>();
        Path(index, 0, size, proof, node);
        return proof;
    }

    public static List<byte[]> ConsistencyProof(long oldSize, long newSize, Func<int, long, byte[]> node)
    {
        if (oldSize < 1 || oldSize > newSize)
        {
            throw new ArgumentOutOfRangeException(nameof(oldSize), $"old size must be 1..{newSize}");
        }
        var proof = new List<byte[]>();
        if (oldSize < newSize)
        {
            SubProof(oldSize, 0, newSize, true, proof, node);
        }
        return proof;
    }

    private static void Path(long m, long start, long n, List<byte[]> proof, Func<int, long, byte[]> node)
    {
        if (n == 1)
        {
            return;
        }
        var k = MerkleTree.LargestPowerOfTwoBelow(n);
        if (m < k)
        {
            Path(m, start, k, proof, node);
            proof.Add(Hash(start + k, n - k, node));
        }
        else
        {
            Path(m - k, start + k, n - k, proof, node);
            proof.Add(Hash(start, k, node));
        }
    }

    private static void SubProof(long m, long start, long n, bool complete, List<byte[]> proof, Func<int, long, byte[]> node)
    {
        if (m == n)
        {
            if (!complete)
            {
                proof.Add(Hash(start, n, node));
            }
            return;
        }
        var k = MerkleTree.LargestPowerOfTwoBelow(n);
        if (m <= k)
        {
            SubProof(m, start, k, complete, proof, node);
            proof.Add(Hash(start + k, n - k, node));
        }
        else
        {
            SubProof(m - k, start + k, n - k, false, proof, node);
            proof.Add(Hash(start, k, node));
        }
    }

    /// <summary>MTH of leaves [start, start + n); in the RFC recursion a power-of-two range is always aligned.</summary>
    private static byte[] Hash(long start, long n, Func<int, long, byte[]> node)
    {
        if ((n & (n - 1)) == 0)
        {
            var level = System.Numerics.BitOperations.Log2((ulong)n);
            return node(level, start >> level);
        }
        var k = MerkleTree.LargestPowerOfTwoBelow(n);
        return MerkleTree.NodeHash(Hash(start, k, node), Hash(start + k, n - k, node));
    }

    /// <summary>The aligned perfect subtrees that tile leaves [start, end), left to right, each as large as alignment allows.</summary>
    public static IEnumerable<(int Level, long Index)> Tiling(long start, long end)
    {
        while (start < end)
        {
            var level = start == 0 ? 62 : System.Numerics.BitOperations.TrailingZeroCount(start);
            while (1L << level > end - start)
            {
                level--;
            }
            yield return (level, start >> level);
            start += 1L << level;
        }
    }
}

/// <summary>Proof verification as in RFC 9162 §2.1.3.2 and §2.1.4.2: needs only hashes, no tree.</summary>
public static class MerkleProofs
{
    public static bool VerifyInclusion(long index, long size, ReadOnlySpan<byte> leafHash, IReadOnlyList<byte[]> proof, ReadOnlySpan<byte> root)
    {
        if (index < 0 || index >= size)
        {
            return false;
        }
        long fn = index, sn = size - 1;
        var r = leafHash.ToArray();
        foreach (var p in proof)
        {
            if (sn == 0)
            {
                return false;
            }
            if ((fn & 1) == 1 || fn == sn)
            {
                r = MerkleTree.NodeHash(p, r);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                r = MerkleTree.NodeHash(r, p);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && r.AsSpan().SequenceEqual(root);
    }

    public static bool VerifyConsistency(long oldSize, long newSize, ReadOnlySpan<byte> oldRoot, ReadOnlySpan<byte> newRoot, IReadOnlyList<byte[]> proof)
    {
        if (oldSize < 1 || oldSize > newSize)
        {
            return false;
        }
        if (oldSize == newSize)
        {
            return proof.Count == 0 && oldRoot.SequenceEqual(newRoot);
        }
        if (proof.Count == 0)
        {
            return false;
        }
        var path = new List<byte[]>(proof);
        if ((oldSize & (oldSize - 1)) == 0)
        {
            path.Insert(0, oldRoot.ToArray()); // a power of two: the old root is itself a node of the new tree
        }
        long fn = oldSize - 1, sn = newSize - 1;
        while ((fn & 1) == 1)
        {
            fn >>= 1;
            sn >>= 1;
        }
        byte[] fr = path[0], sr = path[0];
        foreach (var c in path.Skip(1))
        {
            if (sn == 0)
            {
                return false;
            }
            if ((fn & 1) == 1 || fn == sn)
            {
                fr = MerkleTree.NodeHash(c, fr);
                sr = MerkleTree.NodeHash(c, sr);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                sr = MerkleTree.NodeHash(sr, c);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return fr.AsSpan().SequenceEqual(oldRoot) && sr.AsSpan().SequenceEqual(newRoot) && sn == 0;
    }
}
