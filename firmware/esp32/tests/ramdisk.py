# A littlefs filesystem in RAM for the scripts beside this file (not deployed): the ESP32's
# flash filesystem, on the unix port, of a size chosen by the script.
import vfs


class RAMBlockDev:
    """A littlefs block device in RAM (the block protocol of vfs.VfsLfs2)."""

    def __init__(self, block_size, num_blocks):
        self.block_size = block_size
        self.data = bytearray(block_size * num_blocks)

    def readblocks(self, block_num, buf, offset=0):
        addr = block_num * self.block_size + offset
        buf[:] = self.data[addr : addr + len(buf)]

    def writeblocks(self, block_num, buf, offset=None):
        addr = block_num * self.block_size + (offset or 0)
        self.data[addr : addr + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return len(self.data) // self.block_size
        if op == 5:  # block size
            return self.block_size
        if op == 6:  # erase
            return 0


def mount_littlefs(path, num_blocks, block_size=4096):
    """A new, empty littlefs of `num_blocks` blocks mounted at `path` (4 KiB blocks as on
    the ESP32); unmount with vfs.umount(path)."""
    dev = RAMBlockDev(block_size, num_blocks)
    vfs.VfsLfs2.mkfs(dev)
    vfs.mount(vfs.VfsLfs2(dev), path)
