using System.Security.Cryptography;
using AuditPipeline.Integrity;
using Xunit;

namespace AuditPipeline.Integrity.Tests;

/// <summary>RFC 6962/9162 Merkle trees, proofs and signed checkpoints (issue 6 groundwork).</summary>
public sealed class IntegrityTests
{
    private static MerkleTree Tree(int size, int seed = 1) => TreeWithLeaves(size, seed).Tree;

    private static (MerkleTree Tree, List<byte[]> Leaves) TreeWithLeaves(int size, int seed = 1)
    {
        var random = new Random(seed);
        var tree = new MerkleTree();
        var leaves = new List<byte[]>();
        for (var i = 1; i <= size; i++)
        {
            var chainHash = new byte[32];
            random.NextBytes(chainHash);
            leaves.Add(MerkleTree.LeafHash(MerkleTree.LeafData(i, chainHash)));
            tree.Append(leaves[^1]);
        }
        return (tree, leaves);
    }

    /// <summary>MTH exactly as RFC 6962 §2.1 defines it, recursively, as the reference.</summary>
    private static byte[] ReferenceRoot(IReadOnlyList<byte[]> leaves)
    {
        if (leaves.Count == 0)
        {
            return SHA256.HashData([]);
        }
        if (leaves.Count == 1)
        {
            return leaves[0];
        }
        var k = (int)MerkleTree.LargestPowerOfTwoBelow(leaves.Count);
        return MerkleTree.NodeHash(ReferenceRoot([.. leaves.Take(k)]), ReferenceRoot([.. leaves.Skip(k)]));
    }

    [Fact]
    public void Hashes_follow_rfc_6962_domain_separation()
    {
        Assert.Equal(SHA256.HashData([0x00, 1, 2, 3]), MerkleTree.LeafHash([1, 2, 3]));
        var left = SHA256.HashData([1]);
        var right = SHA256.HashData([2]);
        Assert.Equal(SHA256.HashData([0x01, .. left, .. right]), MerkleTree.NodeHash(left, right));
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Convert.ToHexStringLower(MerkleTree.EmptyRoot()));
    }

    [Fact]
    public void Roots_of_every_prefix_equal_the_recursive_definition()
    {
        var tree = new MerkleTree();
        var leaves = new List<byte[]>();
        for (var i = 0; i < 70; i++)
        {
            var leaf = MerkleTree.LeafHash(MerkleTree.LeafData(i + 1, RandomNumberGenerator.GetBytes(32)));
            leaves.Add(leaf);
            tree.Append(leaf);
        }
        for (var size = 0; size <= 70; size++)
        {
            Assert.Equal(ReferenceRoot([.. leaves.Take(size)]), tree.Root(size));
        }
    }

    [Fact]
    public void Inclusion_proofs_verify_for_every_leaf_of_many_tree_sizes_and_fail_when_tampered()
    {
        var (tree, leaves) = TreeWithLeaves(130);
        foreach (var size in new long[] { 1, 2, 3, 5, 8, 13, 64, 65, 100, 130 })
        {
            var root = tree.Root(size);
            for (long index = 0; index < size; index++)
            {
                var proof = tree.InclusionProof(index, size);
                var leaf = leaves[(int)index];
                Assert.True(MerkleProofs.VerifyInclusion(index, size, leaf, proof, root), $"leaf {index} of {size}");
                Assert.False(MerkleProofs.VerifyInclusion(index, size, MerkleTree.LeafHash([9]), proof, root), $"wrong leaf {index} of {size}");
                if (proof.Count > 0)
                {
                    var bent = proof.Select(p => p.ToArray()).ToList();
                    bent[^1][0] ^= 1;
                    Assert.False(MerkleProofs.VerifyInclusion(index, size, leaf, bent, root), $"bent proof {index} of {size}");
                }
                if (size > 1)
                {
                    Assert.False(MerkleProofs.VerifyInclusion((index + 1) % size, size, leaf, proof, root), $"wrong position {index} of {size}");
                }
            }
        }
    }

    [Fact]
    public void Consistency_proofs_verify_for_growing_logs_and_fail_for_a_forked_one()
    {
        var tree = Tree(100, seed: 5);
        for (long oldSize = 1; oldSize <= 100; oldSize += 7)
        {
            foreach (var newSize in new long[] { oldSize, oldSize + 1, Math.Min(100, oldSize * 2), 100 })
            {
                var proof = tree.ConsistencyProof(oldSize, newSize);
                Assert.True(MerkleProofs.VerifyConsistency(oldSize, newSize, tree.Root(oldSize), tree.Root(newSize), proof), $"{oldSize} → {newSize}");
            }
        }
        // A fork: the same first 40 events, then a different history. Its checkpoint at 60 is not a
        // continuation of the original log at 40 … and the original at 40 is not a prefix of the fork's 60 if event 30 changed.
        var original = Tree(60, seed: 5);
        var fork = Tree(60, seed: 6);
        var forkedProof = fork.ConsistencyProof(40, 60);
        Assert.False(MerkleProofs.VerifyConsistency(40, 60, original.Root(40), fork.Root(60), forkedProof));
        Assert.False(MerkleProofs.VerifyConsistency(40, 60, original.Root(40), original.Root(60), forkedProof));
        Assert.False(MerkleProofs.VerifyConsistency(40, 60, original.Root(40), original.Root(60), []));
    }

    [Fact]
    public void Checkpoints_verify_with_their_key_survive_rotation_and_fail_when_anything_changes()
    {
        var tree = Tree(10);
        using var first = CheckpointSigner.Generate();
        using var second = CheckpointSigner.Generate();
        var old = first.Sign(10, tree.Root(10), DateTimeOffset.UtcNow);
        var rotated = second.Sign(10, tree.Root(10), DateTimeOffset.UtcNow);
        var keys = new Dictionary<string, string> { [first.KeyId] = first.PublicKeyPem, [second.KeyId] = second.PublicKeyPem };

        Assert.Null(CheckpointSigner.Verify(old, keys));
        Assert.Null(CheckpointSigner.Verify(rotated, keys));
        Assert.NotNull(CheckpointSigner.Verify(old with { Size = 11 }, keys));
        Assert.NotNull(CheckpointSigner.Verify(old with { RootHash = Convert.ToHexStringLower(tree.Root(9)) }, keys));
        Assert.NotNull(CheckpointSigner.Verify(old with { At = old.At.AddSeconds(1) }, keys));
        Assert.Equal($"no public key with id {old.KeyId}", CheckpointSigner.Verify(old, new Dictionary<string, string> { [second.KeyId] = second.PublicKeyPem }));
        // Swapping the public key under the old id is named.
        Assert.Equal($"the public key given for {old.KeyId} has another id",
            CheckpointSigner.Verify(old, new Dictionary<string, string> { [first.KeyId] = second.PublicKeyPem }));

        using var reloaded = CheckpointSigner.FromPem(first.ExportPrivateKeyPem());
        Assert.Equal(first.KeyId, reloaded.KeyId);
    }

    [Fact]
    public void Compact_range_gives_the_tree_root_at_every_size_and_reports_the_same_nodes()
    {
        var (tree, leaves) = TreeWithLeaves(300);
        var reported = new Dictionary<(int, long), byte[]>();
        var range = new CompactRange((level, index, hash) => reported[(level, index)] = hash, reportFromLevel: 2);
        Assert.Equal(MerkleTree.EmptyRoot(), range.Root());
        for (var size = 1; size <= 300; size++)
        {
            range.AppendLeaf(leaves[size - 1]);
            Assert.Equal(tree.Root(size), range.Root());
            // Restored from its frontier, a range continues exactly as the original.
            var restored = CompactRange.Restore(size, range.Frontier);
            Assert.Equal(range.Root(), restored.Root());
        }
        Assert.NotEmpty(reported);
        foreach (var ((level, index), hash) in reported)
        {
            Assert.True(level >= 2);
            Assert.Equal(tree.Node(level, index), hash);
        }
        Assert.Equal(300 / 4 + 300 / 8 + 300 / 16 + 300 / 32 + 300 / 64 + 300 / 128 + 300 / 256, reported.Count);
    }

    [Fact]
    public void Leaves_with_the_subtrees_tiling_the_gaps_between_them_rebuild_the_root()
    {
        // This is the bundle's batched inclusion proof: a few leaves, the rest as aligned subtrees.
        var (tree, leaves) = TreeWithLeaves(1000, seed: 3);
        var random = new Random(5);
        for (var trial = 0; trial < 50; trial++)
        {
            var size = random.Next(1, 1001);
            var included = Enumerable.Range(0, size).Where(_ => random.NextDouble() < 0.05).ToList();
            var range = new CompactRange();
            long next = 0;
            foreach (var index in included)
            {
                foreach (var (level, i) in MerkleProofBuilder.Tiling(next, index))
                {
                    Assert.Equal(next, i << level);
                    range.AppendNode(level, tree.Node(level, i));
                    next += 1L << level;
                }
                range.AppendLeaf(leaves[index]);
                next = index + 1;
            }
            foreach (var (level, i) in MerkleProofBuilder.Tiling(next, size))
            {
                range.AppendNode(level, tree.Node(level, i));
            }
            Assert.Equal(size, range.Size);
            Assert.Equal(tree.Root(size), range.Root());
        }
        // A tiling is short: a gap of n leaves takes at most 2·log2(n) subtrees.
        Assert.True(MerkleProofBuilder.Tiling(3, 1_000_003).Count() <= 2 * 20);
        var misaligned = new CompactRange();
        misaligned.AppendLeaf(new byte[32]);
        Assert.Throws<InvalidOperationException>(() => misaligned.AppendNode(3, new byte[32]));
    }

    [Fact]
    public void Signatures_must_be_canonical_base64_so_no_character_can_change_unnoticed()
    {
        using var signer = CheckpointSigner.Generate();
        var document = "{\"a\":1}"u8.ToArray();
        var signature = signer.SignDocument(document);
        Assert.Null(CheckpointSigner.VerifyDocument(signer.PublicKeyPem, document, signature));
        Assert.NotNull(CheckpointSigner.VerifyDocument(signer.PublicKeyPem, [.. document, (byte)' '], signature));
        // A 64-byte signature leaves 4 unused bits in its last base64 character: flipping one of
        // them decodes to the same bytes, and must still be refused.
        var sloppy = FlipUnusedBase64Bit(signature);
        Assert.Equal(Convert.FromBase64String(signature), Convert.FromBase64String(sloppy));
        Assert.NotNull(CheckpointSigner.VerifyDocument(signer.PublicKeyPem, document, sloppy));
        var checkpoint = signer.Sign(1, new byte[32], DateTimeOffset.UtcNow);
        var keys = new Dictionary<string, string> { [signer.KeyId] = signer.PublicKeyPem };
        Assert.Null(CheckpointSigner.Verify(checkpoint, keys));
        Assert.NotNull(CheckpointSigner.Verify(checkpoint with { Signature = FlipUnusedBase64Bit(checkpoint.Signature) }, keys));
    }

    private static string FlipUnusedBase64Bit(string base64)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        var last = base64.TrimEnd('=').Length - 1;
        return base64[..last] + alphabet[alphabet.IndexOf(base64[last], StringComparison.Ordinal) ^ 1] + base64[(last + 1)..];
    }
}
