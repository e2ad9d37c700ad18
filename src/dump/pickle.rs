//! A minimal, bounded pickle virtual machine for the programs `torch.save`
//! writes (protocol 2; a few protocol 4 opcodes are accepted too).
//!
//! `serde-pickle` 1.2 cannot be used: it rejects `BINPERSID`, the opcode
//! through which torch references tensor storages. This VM builds plain
//! [`Value`]s and never executes anything: `GLOBAL` pushes a name,
//! `REDUCE`/`NEWOBJ` record a call (except `collections.OrderedDict()`, which
//! becomes an empty dict), `BUILD` on a recorded call keeps its state beside
//! it ([`Value::Object`]: how dataclasses such as torch.distributed.checkpoint's
//! `Metadata` arrive) and on anything else drops it (a state dict's
//! `_metadata`). A memo entry taken before `BUILD` stays the bare call.
//!
//! Bounds: every length is checked against the remaining input before any
//! allocation, nesting is limited to [`MAX_DEPTH`] (so dropping a value never
//! overflows the stack), and containers are shared (`Rc`) so `BINGET` never
//! copies — a "billion laughs" program stays linear in its size.
//! Opcode reference: CPython `Lib/pickletools.py`.

use std::collections::HashMap;
use std::rc::Rc;

/// Deepest nesting of containers accepted.
pub const MAX_DEPTH: u32 = 200;

/// A value on the pickle stack.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    /// `module.name` pushed by `GLOBAL`/`STACK_GLOBAL`.
    Global(Rc<(String, String)>),
    Tuple(Rc<Node<Vec<Value>>>),
    List(Rc<Node<Vec<Value>>>),
    /// Key–value pairs in insertion order.
    Dict(Rc<Node<Vec<(Value, Value)>>>),
    /// `func(*args)` recorded by `REDUCE`/`NEWOBJ`.
    Call(Rc<Node<(Value, Value)>>),
    /// The result of `BINPERSID`: a persistent id (torch: a storage tuple).
    Persistent(Rc<Node<Value>>),
    /// A recorded call and the state `BUILD` gave it: `(call, state)`.
    Object(Rc<Node<(Value, Value)>>),
}

/// A container with its nesting depth.
#[derive(Debug, Clone, PartialEq)]
pub struct Node<T> {
    depth: u32,
    pub item: T,
}

impl Value {
    fn depth(&self) -> u32 {
        match self {
            Value::Tuple(n) | Value::List(n) => n.depth,
            Value::Dict(n) => n.depth,
            Value::Call(n) | Value::Object(n) => n.depth,
            Value::Persistent(n) => n.depth,
            _ => 0,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The items, if this is a tuple.
    pub fn as_tuple(&self) -> Option<&[Value]> {
        match self {
            Value::Tuple(n) => Some(&n.item),
            _ => None,
        }
    }

    /// The items, if this is a list.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(n) => Some(&n.item),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// `(module, name)` of the class and the state of a built object.
    pub fn as_object(&self) -> Option<(&(String, String), &Value)> {
        let Value::Object(object) = self else {
            return None;
        };
        let Value::Call(call) = &object.item.0 else {
            return None;
        };
        let Value::Global(class) = &call.item.0 else {
            return None;
        };
        Some((class, &object.item.1))
    }

    /// The value under string key `key`, if this is a dict holding it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        let Value::Dict(dict) = self else {
            return None;
        };
        dict.item
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }
}

/// Why a pickle program was rejected, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickleError {
    /// Byte offset of the offending opcode.
    pub offset: u64,
    pub what: String,
}

fn node<T>(item: T, children: impl IntoIterator<Item = u32>) -> Result<Rc<Node<T>>, String> {
    let depth = children.into_iter().max().unwrap_or(0) + 1;
    if depth > MAX_DEPTH {
        return Err(format!("nesting deeper than {MAX_DEPTH}"));
    }
    Ok(Rc::new(Node { depth, item }))
}

fn tuple(items: Vec<Value>) -> Result<Value, String> {
    let depths: Vec<u32> = items.iter().map(Value::depth).collect();
    Ok(Value::Tuple(node(items, depths)?))
}

/// Runs a pickle program and returns the value `STOP` yields.
pub fn load(program: &[u8]) -> Result<Value, PickleError> {
    load_prefix(program).map(|(value, _)| value)
}

/// Runs the pickle program at the start of `input` (several pickles may
/// follow each other, as in a legacy `torch.save` file) and returns the
/// value `STOP` yields with the number of bytes the program took.
pub fn load_prefix(input: &[u8]) -> Result<(Value, usize), PickleError> {
    let program = input;
    let mut vm = Vm {
        input: program,
        at: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
    };
    loop {
        let offset = vm.at as u64;
        match vm.step() {
            Ok(Some(value)) => return Ok((value, vm.at)),
            Ok(None) => {}
            Err(what) => return Err(PickleError { offset, what }),
        }
    }
}

struct Vm<'p> {
    input: &'p [u8],
    at: usize,
    stack: Vec<Value>,
    /// Stack lengths at each `MARK`.
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
}

impl<'p> Vm<'p> {
    fn take(&mut self, n: usize) -> Result<&'p [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.input.len());
        let end = end.ok_or_else(|| format!("truncated: needs {n} more bytes"))?;
        let bytes = &self.input[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn take_array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn take_len(&mut self, width: usize) -> Result<usize, String> {
        let len = match width {
            1 => u64::from(self.take_array::<1>()?[0]),
            4 => u64::from(u32::from_le_bytes(self.take_array()?)),
            _ => u64::from_le_bytes(self.take_array()?),
        };
        usize::try_from(len).map_err(|_| "length out of range".to_string())
    }

    fn take_line(&mut self) -> Result<String, String> {
        let rest = &self.input[self.at..];
        let len = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("unterminated line")?;
        let line = String::from_utf8(rest[..len].to_vec()).map_err(|_| "line is not UTF-8")?;
        self.at += len + 1;
        Ok(line)
    }

    fn take_str(&mut self, width: usize) -> Result<Value, String> {
        let len = self.take_len(width)?;
        let bytes = self.take(len)?;
        let text = std::str::from_utf8(bytes).map_err(|_| "string is not UTF-8")?;
        Ok(Value::Str(Rc::from(text)))
    }

    fn pop(&mut self) -> Result<Value, String> {
        if self.marks.last().is_some_and(|&m| m >= self.stack.len()) {
            return Err("pop across a MARK".into());
        }
        self.stack.pop().ok_or_else(|| "stack underflow".into())
    }

    fn top(&mut self) -> Result<&mut Value, String> {
        if self.marks.last().is_some_and(|&m| m >= self.stack.len()) {
            return Err("stack underflow at MARK".into());
        }
        self.stack
            .last_mut()
            .ok_or_else(|| "stack underflow".into())
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, String> {
        let mark = self.marks.pop().ok_or("no MARK on the stack")?;
        Ok(self.stack.split_off(mark))
    }

    fn pop_n(&mut self, n: usize) -> Result<Vec<Value>, String> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() < floor + n {
            return Err("stack underflow".into());
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    fn memo_put(&mut self, index: u32) -> Result<(), String> {
        let value = self.top()?.clone();
        self.memo.insert(index, value);
        Ok(())
    }

    fn memo_get(&mut self, index: u32) -> Result<(), String> {
        let value = self
            .memo
            .get(&index)
            .cloned()
            .ok_or_else(|| format!("memo {index} is empty"))?;
        self.stack.push(value);
        Ok(())
    }

    fn append(&mut self, items: Vec<Value>) -> Result<(), String> {
        let Value::List(list) = self.top()? else {
            return Err("APPEND to a non-list".into());
        };
        let depth = items
            .iter()
            .map(|v| v.depth() + 1)
            .chain([list.depth])
            .max()
            .unwrap_or(1);
        if depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH}"));
        }
        let list = Rc::make_mut(list);
        list.depth = depth;
        list.item.extend(items);
        Ok(())
    }

    fn set_items(&mut self, items: Vec<Value>) -> Result<(), String> {
        if items.len() % 2 != 0 {
            return Err("SETITEMS with an odd number of items".into());
        }
        let Value::Dict(dict) = self.top()? else {
            return Err("SETITEM on a non-dict".into());
        };
        let depth = items
            .iter()
            .map(|v| v.depth() + 1)
            .chain([dict.depth])
            .max()
            .unwrap_or(1);
        if depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH}"));
        }
        let dict = Rc::make_mut(dict);
        dict.depth = depth;
        let mut items = items.into_iter();
        while let (Some(key), Some(value)) = (items.next(), items.next()) {
            dict.item.push((key, value));
        }
        Ok(())
    }

    fn call(&mut self, func: Value, args: Value) -> Result<Value, String> {
        if let Value::Global(g) = &func {
            if g.0 == "collections" && g.1 == "OrderedDict" {
                return Ok(Value::Dict(node(Vec::new(), [])?));
            }
        }
        let depths = [func.depth(), args.depth()];
        Ok(Value::Call(node((func, args), depths)?))
    }

    /// Executes one opcode; `Some` at `STOP`.
    fn step(&mut self) -> Result<Option<Value>, String> {
        let [opcode] = self.take_array::<1>()?;
        match opcode {
            0x80 => {
                // PROTO
                let [version] = self.take_array::<1>()?;
                if version > 5 {
                    return Err(format!("unsupported pickle protocol {version}"));
                }
            }
            0x95 => {
                // FRAME: the frame length is only a hint
                self.take(8)?;
            }
            b'.' => {
                // STOP
                let value = self.pop()?;
                return Ok(Some(value));
            }
            b'}' => self.stack.push(Value::Dict(node(Vec::new(), [])?)),
            b']' => self.stack.push(Value::List(node(Vec::new(), [])?)),
            b')' => self.stack.push(tuple(Vec::new())?),
            b'(' => self.marks.push(self.stack.len()),
            b'q' => {
                let [index] = self.take_array::<1>()?;
                self.memo_put(u32::from(index))?;
            }
            b'r' => {
                let index = u32::from_le_bytes(self.take_array()?);
                self.memo_put(index)?;
            }
            0x94 => {
                // MEMOIZE
                let index = u32::try_from(self.memo.len()).map_err(|_| "memo overflow")?;
                self.memo_put(index)?;
            }
            b'h' => {
                let [index] = self.take_array::<1>()?;
                self.memo_get(u32::from(index))?;
            }
            b'j' => {
                let index = u32::from_le_bytes(self.take_array()?);
                self.memo_get(index)?;
            }
            b'X' => {
                let s = self.take_str(4)?;
                self.stack.push(s);
            }
            0x8c => {
                let s = self.take_str(1)?;
                self.stack.push(s);
            }
            0x8d => {
                let s = self.take_str(8)?;
                self.stack.push(s);
            }
            b'T' | b'U' | b'B' | b'C' | 0x8e => {
                // BINSTRING, SHORT_BINSTRING (py2 str), BINBYTES, SHORT_BINBYTES, BINBYTES8
                let width = match opcode {
                    b'U' | b'C' => 1,
                    0x8e => 8,
                    _ => 4,
                };
                let len = self.take_len(width)?;
                let bytes = self.take(len)?;
                self.stack.push(Value::Bytes(Rc::from(bytes)));
            }
            b'c' => {
                let module = self.take_line()?;
                let name = self.take_line()?;
                self.stack.push(Value::Global(Rc::new((module, name))));
            }
            0x93 => {
                // STACK_GLOBAL
                let name = self.pop()?;
                let module = self.pop()?;
                match (module.as_str(), name.as_str()) {
                    (Some(m), Some(n)) => self
                        .stack
                        .push(Value::Global(Rc::new((m.to_string(), n.to_string())))),
                    _ => return Err("STACK_GLOBAL needs two strings".into()),
                }
            }
            b'Q' => {
                // BINPERSID
                let pid = self.pop()?;
                let depth = pid.depth();
                self.stack.push(Value::Persistent(node(pid, [depth])?));
            }
            b'J' => {
                let n = i32::from_le_bytes(self.take_array()?);
                self.stack.push(Value::Int(i64::from(n)));
            }
            b'K' => {
                let [n] = self.take_array::<1>()?;
                self.stack.push(Value::Int(i64::from(n)));
            }
            b'M' => {
                let n = u16::from_le_bytes(self.take_array()?);
                self.stack.push(Value::Int(i64::from(n)));
            }
            0x8a => {
                // LONG1: little-endian two's complement of n bytes
                let len = self.take_len(1)?;
                if len > 8 {
                    return Err(format!("integer of {len} bytes is too large"));
                }
                let bytes = self.take(len)?;
                let negative = bytes.last().is_some_and(|b| b & 0x80 != 0);
                let mut full = if negative { [0xFFu8; 8] } else { [0u8; 8] };
                full[..len].copy_from_slice(bytes);
                self.stack.push(Value::Int(i64::from_le_bytes(full)));
            }
            b'G' => {
                let x = f64::from_be_bytes(self.take_array()?);
                self.stack.push(Value::Float(x));
            }
            b'N' => self.stack.push(Value::None),
            0x88 => self.stack.push(Value::Bool(true)),
            0x89 => self.stack.push(Value::Bool(false)),
            0x85..=0x87 => {
                let items = self.pop_n(usize::from(opcode - 0x84))?;
                self.stack.push(tuple(items)?);
            }
            b't' => {
                let items = self.pop_mark()?;
                self.stack.push(tuple(items)?);
            }
            b'l' => {
                let items = self.pop_mark()?;
                let depths: Vec<u32> = items.iter().map(Value::depth).collect();
                self.stack.push(Value::List(node(items, depths)?));
            }
            b'd' => {
                let items = self.pop_mark()?;
                self.stack.push(Value::Dict(node(Vec::new(), [])?));
                self.set_items(items)?;
            }
            b'R' | 0x81 => {
                // REDUCE, NEWOBJ
                let args = self.pop()?;
                let func = self.pop()?;
                let value = self.call(func, args)?;
                self.stack.push(value);
            }
            b'b' => {
                // BUILD
                let state = self.pop()?;
                let top = self.top()?;
                if matches!(top, Value::Call(_)) {
                    let call = std::mem::replace(top, Value::None);
                    let depths = [call.depth(), state.depth()];
                    *self.top()? = Value::Object(node((call, state), depths)?);
                }
            }
            b's' => {
                let items = self.pop_n(2)?;
                self.set_items(items)?;
            }
            b'u' => {
                let items = self.pop_mark()?;
                self.set_items(items)?;
            }
            b'a' => {
                let item = self.pop()?;
                self.append(vec![item])?;
            }
            b'e' => {
                let items = self.pop_mark()?;
                self.append(items)?;
            }
            b'0' => {
                self.pop()?;
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let top = self.top()?.clone();
                self.stack.push(top);
            }
            other => return Err(format!("unsupported opcode 0x{other:02x}")),
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn loads_a_dict_with_a_persistent_id() {
        // pickletools-annotated protocol-2 program as torch.save writes it:
        // {'a': Call(_rebuild_tensor_v2, (Persistent(('storage', FloatStorage, '0', 'cpu', 6)), 0, (2, 3), (3, 1)))}
        let program = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02((X\x07\x00\x00\x00storageq\x03ctorch\nFloatStorage\nq\x04X\x01\x00\x00\x000q\x05X\x03\x00\x00\x00cpuq\x06K\x06tq\x07QK\x00K\x02K\x03\x86q\x08K\x03K\x01\x86q\t\x89ccollections\nOrderedDict\nq\n)Rq\x0btq\x0cRq\ru.";
        let value = load(program).unwrap();
        let Value::Dict(dict) = value else {
            panic!("not a dict: {value:?}")
        };
        assert_eq!(dict.item.len(), 1);
        assert_eq!(dict.item[0].0.as_str(), Some("a"));
        let Value::Call(call) = &dict.item[0].1 else {
            panic!("not a call")
        };
        assert_eq!(
            call.item.0,
            Value::Global(Rc::new((
                "torch._utils".into(),
                "_rebuild_tensor_v2".into()
            )))
        );
        let args = call.item.1.as_tuple().unwrap();
        let Value::Persistent(pid) = &args[0] else {
            panic!("no persistent id")
        };
        assert_eq!(pid.item.as_tuple().unwrap()[2].as_str(), Some("0"));
        assert_eq!(args[1], Value::Int(0));
        assert_eq!(args[2].as_tuple().unwrap(), &[Value::Int(2), Value::Int(3)]);
    }

    #[test]
    fn long1_and_binfloat() {
        // pickle.dumps(-129, 2) == b'\x80\x02\x8a\x02\x7f\xff.'; pickle.dumps(1.5, 2) == b'\x80\x02G?\xf8\x00\x00\x00\x00\x00\x00.'
        assert_eq!(
            load(b"\x80\x02\x8a\x02\x7f\xff.").unwrap(),
            Value::Int(-129)
        );
        assert_eq!(
            load(b"\x80\x02G?\xf8\x00\x00\x00\x00\x00\x00.").unwrap(),
            Value::Float(1.5)
        );
    }

    #[test]
    fn rejects_corrupt_programs_with_an_offset() {
        let cases: [&[u8]; 7] = [
            b"",
            b"\x80\x02",                  // no STOP
            b"\x80\x02X\xff\xff\xff\x7f", // string longer than the input
            b"\x80\x02h\x05.",            // empty memo slot
            b"\x80\x02K\x01K\x02s.",      // SETITEM on an int
            b"\x80\x02\xff.",             // unknown opcode
            b"\x80\x02K\x01(\x85.",       // TUPLE1 reaching below the MARK
        ];
        for program in cases {
            assert!(load(program).is_err(), "{program:?} loaded");
        }
        let err = load(b"\x80\x02\xff.").unwrap_err();
        assert_eq!(err.offset, 2);
    }

    #[test]
    fn deep_nesting_is_rejected_not_a_stack_overflow() {
        // ']' then ']a' repeated: each APPEND nests the previous list one level deeper
        let mut program = b"\x80\x02]".to_vec();
        for _ in 0..100_000 {
            program.extend_from_slice(b"]");
        }
        program.extend(std::iter::repeat_n(b'a', 100_000));
        program.push(b'.');
        assert!(load(&program).unwrap_err().what.contains("nesting"));
    }

    #[test]
    fn memo_sharing_stays_linear() {
        // L = []; repeat 60 times: L = [L, L]  (2^60 leaves if copied)
        let mut program = b"\x80\x02]q\x00".to_vec();
        for _ in 0..60 {
            program.extend_from_slice(b"(h\x00h\x00lq\x00");
        }
        program.push(b'.');
        assert!(matches!(load(&program), Ok(Value::List(_))));
    }

    proptest! {
        /// Arbitrary bytes never panic the VM.
        #[test]
        fn never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = load(&bytes);
        }

        /// Flipping one byte of a valid program never panics.
        #[test]
        fn never_panics_on_corrupted_torch_pickle(at in 0usize..160, byte: u8) {
            let mut program = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02((X\x07\x00\x00\x00storageq\x03ctorch\nFloatStorage\nq\x04X\x01\x00\x00\x000q\x05X\x03\x00\x00\x00cpuq\x06K\x06tq\x07QK\x00K\x02K\x03\x86q\x08K\x03K\x01\x86q\t\x89ccollections\nOrderedDict\nq\n)Rq\x0btq\x0cRq\ru.".to_vec();
            let at = at % program.len();
            program[at] = byte;
            let _ = load(&program);
        }
    }
}
