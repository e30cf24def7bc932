//! The inflaters every gzip decoder here is built on. These wrap crates
//! rather than replace them: ISA-L (igzip's engine) when fkit is built with
//! the `isal` feature, zlib-rs through flate2 and libdeflate otherwise; this
//! file only gives them one interface that stops exactly at a member's end.

/// A streaming raw-deflate decompressor that stops exactly at the end of a
/// deflate stream, so the gzip trailer and the next member can follow.
pub(crate) struct Inflater {
    #[cfg(feature = "isal")]
    state: IsalState,
    #[cfg(not(feature = "isal"))]
    state: flate2::Decompress,
    #[cfg(not(feature = "isal"))]
    crc: crc32fast::Hasher,
}

/// ISA-L's inflate state. Its pointers point into the caller's buffers only
/// during a call to `Inflater::inflate`, so moving it to another thread
/// between calls is sound.
#[cfg(feature = "isal")]
struct IsalState(Box<isal::isal_sys::igzip_lib::inflate_state>);

#[cfg(feature = "isal")]
// SAFETY: see above: no pointer is dereferenced outside `inflate`.
unsafe impl Send for IsalState {}

/// Why inflating failed, and how far into the input the inflater had read
/// (for the byte offset in the message).
#[derive(Debug)]
pub(crate) struct InflateError {
    pub why: String,
    pub consumed: usize,
}

/// What one step of inflating did.
pub(crate) struct Step {
    pub consumed: usize,
    pub produced: usize,
    pub finished: bool,
    /// Input bytes past the end of the deflate stream that the inflater had
    /// already taken (counted in `consumed`): the caller reads them next.
    pub held: Vec<u8>,
}

#[cfg(feature = "isal")]
impl Inflater {
    pub(crate) fn new() -> Inflater {
        use isal::isal_sys::igzip_lib as isal;
        let mut state: Box<std::mem::MaybeUninit<isal::inflate_state>> = Box::new_uninit();
        // SAFETY: isal_inflate_init initialises every field the decoder reads.
        let mut state = unsafe {
            isal::isal_inflate_init(state.as_mut_ptr());
            state.assume_init()
        };
        state.crc_flag = isal::ISAL_GZIP_NO_HDR;
        Inflater {
            state: IsalState(state),
        }
    }

    pub(crate) fn reset(&mut self) {
        use isal::isal_sys::igzip_lib as isal;
        // SAFETY: the state was initialised by isal_inflate_init.
        unsafe { isal::isal_inflate_reset(&mut *self.state.0) };
        self.state.0.crc_flag = isal::ISAL_GZIP_NO_HDR;
    }

    /// The CRC-32 of everything produced since the last reset.
    pub(crate) fn crc(&self) -> u32 {
        self.state.0.crc
    }

    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<Step, InflateError> {
        use isal::isal_sys::igzip_lib as isal;
        // ISA-L takes 32-bit lengths.
        let input = &input[..input.len().min(1 << 30)];
        let out_len = output.len().min(1 << 30);
        let s = &mut *self.state.0;
        s.next_in = input.as_ptr() as *mut u8;
        s.avail_in = input.len() as u32;
        s.next_out = output.as_mut_ptr();
        s.avail_out = out_len as u32;
        // SAFETY: next_in/next_out point into live slices of the given lengths.
        let ret = unsafe { isal::isal_inflate(s) };
        if ret < 0 {
            return Err(InflateError {
                why: match ret {
                    isal::ISAL_INVALID_BLOCK => "invalid deflate block".into(),
                    isal::ISAL_INVALID_SYMBOL => "invalid deflate symbol".into(),
                    isal::ISAL_INVALID_LOOKBACK => "invalid distance too far back".into(),
                    other => format!("invalid compressed data (ISA-L error {other})"),
                },
                consumed: input.len() - s.avail_in as usize,
            });
        }
        let finished = s.block_state == isal::isal_block_state_ISAL_BLOCK_FINISH;
        let mut held = Vec::new();
        if finished {
            // ISA-L reads ahead: whole bytes left in its bit buffer, then in
            // its small input buffer, follow the deflate stream (the gzip
            // trailer, the next member) and go back to the caller.
            let bytes = (s.read_in_length.max(0) / 8) as usize;
            let bits = s.read_in >> (s.read_in_length.max(0) % 8);
            held.extend_from_slice(&bits.to_le_bytes()[..bytes.min(8)]);
            let tmp = (s.tmp_in_size.max(0) as usize).min(s.tmp_in_buffer.len());
            held.extend_from_slice(&s.tmp_in_buffer[..tmp]);
            s.read_in = 0;
            s.read_in_length = 0;
            s.tmp_in_size = 0;
        }
        Ok(Step {
            consumed: input.len() - s.avail_in as usize,
            produced: out_len - s.avail_out as usize,
            finished,
            held,
        })
    }
}

#[cfg(not(feature = "isal"))]
impl Inflater {
    pub(crate) fn new() -> Inflater {
        Inflater {
            state: flate2::Decompress::new(false),
            crc: crc32fast::Hasher::new(),
        }
    }

    pub(crate) fn reset(&mut self) {
        self.state.reset(false);
        self.crc = crc32fast::Hasher::new();
    }

    pub(crate) fn crc(&self) -> u32 {
        self.crc.clone().finalize()
    }

    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<Step, InflateError> {
        let (before_in, before_out) = (self.state.total_in(), self.state.total_out());
        let status = self
            .state
            .decompress(input, output, flate2::FlushDecompress::None)
            .map_err(|e| InflateError {
                why: e.to_string(),
                consumed: (self.state.total_in() - before_in) as usize,
            })?;
        let consumed = (self.state.total_in() - before_in) as usize;
        let produced = (self.state.total_out() - before_out) as usize;
        self.crc.update(&output[..produced]);
        Ok(Step {
            consumed,
            produced,
            finished: status == flate2::Status::StreamEnd,
            held: Vec::new(),
        })
    }
}

/// Inflates a whole raw deflate stream whose uncompressed length is known
/// (a member of fkit's indexed gzip), the fastest way the build allows.
pub(crate) struct WholeInflater {
    #[cfg(feature = "isal")]
    state: IsalState,
    #[cfg(not(feature = "isal"))]
    state: Libdeflate,
}

/// libdeflate's whole-buffer decompressor, called through its `_ex` entry
/// point: the libdeflater crate does not say how much input a stream took,
/// and an indexed member's deflate stream must end exactly at its trailer.
#[cfg(not(feature = "isal"))]
struct Libdeflate(std::ptr::NonNull<libdeflate_sys::libdeflate_decompressor>);

#[cfg(not(feature = "isal"))]
// SAFETY: the decompressor is only used through `&mut self`, one call at a
// time; libdeflate keeps no thread-local state.
unsafe impl Send for Libdeflate {}

#[cfg(not(feature = "isal"))]
impl Libdeflate {
    fn new() -> Libdeflate {
        // SAFETY: allocates a fresh decompressor; no arguments.
        let p = unsafe { libdeflate_sys::libdeflate_alloc_decompressor() };
        Libdeflate(std::ptr::NonNull::new(p).expect("out of memory (libdeflate)"))
    }

    /// Inflate `body` into `out`: the bytes of input and output the stream
    /// took, or None if it is not one valid deflate stream that fits.
    fn inflate(&mut self, body: &[u8], out: &mut [u8]) -> Option<(usize, usize)> {
        let (mut read, mut wrote) = (0usize, 0usize);
        // SAFETY: the pointers and lengths are those of live slices;
        // libdeflate reads at most `body.len()` bytes and writes at most
        // `out.len()`, and writes the two counts through valid pointers.
        let ret = unsafe {
            libdeflate_sys::libdeflate_deflate_decompress_ex(
                self.0.as_ptr(),
                body.as_ptr().cast(),
                body.len(),
                out.as_mut_ptr().cast(),
                out.len(),
                &mut read,
                &mut wrote,
            )
        };
        (ret == libdeflate_sys::libdeflate_result_LIBDEFLATE_SUCCESS).then_some((read, wrote))
    }
}

#[cfg(not(feature = "isal"))]
impl Drop for Libdeflate {
    fn drop(&mut self) {
        // SAFETY: allocated by libdeflate_alloc_decompressor, freed once.
        unsafe { libdeflate_sys::libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

impl WholeInflater {
    #[cfg(feature = "isal")]
    pub(crate) fn new() -> WholeInflater {
        WholeInflater {
            state: Inflater::new().state,
        }
    }

    #[cfg(not(feature = "isal"))]
    pub(crate) fn new() -> WholeInflater {
        WholeInflater {
            state: Libdeflate::new(),
        }
    }

    /// Inflate `body` into all of `out` and return the CRC-32 of `out`; an
    /// error unless all of `body`, to its last byte, is one complete deflate
    /// stream of exactly `out.len()` bytes (a stream that ends early means
    /// the index that cut `body` out is wrong). `out` is the caller's, so that it can be reused
    /// (fresh pages cost a fault each).
    #[cfg(feature = "isal")]
    pub(crate) fn inflate_into(
        &mut self,
        body: &[u8],
        out: &mut [u8],
    ) -> Result<u32, &'static str> {
        use isal::isal_sys::igzip_lib as isal;
        if body.len() > u32::MAX as usize || out.len() > u32::MAX as usize {
            return Err("member too large");
        }
        let s = &mut *self.state.0;
        // SAFETY: the state was initialised by isal_inflate_init.
        unsafe { isal::isal_inflate_reset(s) };
        // ISA-L computes the CRC-32 of what it writes (one pass, no second
        // read of the output by the caller).
        s.crc_flag = isal::ISAL_GZIP_NO_HDR;
        s.next_in = body.as_ptr() as *mut u8;
        s.avail_in = body.len() as u32;
        s.next_out = out.as_mut_ptr();
        s.avail_out = out.len() as u32;
        // SAFETY: ISA-L reads `avail_in` bytes of `body` and writes at most
        // `avail_out` bytes of `out`.
        let ret = unsafe { isal::isal_inflate_stateless(s) };
        if ret != isal::ISAL_DECOMP_OK as i32 || s.avail_out != 0 || s.avail_in != 0 {
            return Err("invalid compressed data");
        }
        Ok(s.crc)
    }

    #[cfg(not(feature = "isal"))]
    pub(crate) fn inflate_into(
        &mut self,
        body: &[u8],
        out: &mut [u8],
    ) -> Result<u32, &'static str> {
        match self.state.inflate(body, out) {
            Some((read, wrote)) if read == body.len() && wrote == out.len() => {
                Ok(libdeflater::crc32(out))
            }
            _ => Err("invalid compressed data"),
        }
    }
}
