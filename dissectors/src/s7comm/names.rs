//! Display names of S7comm code points.

use super::{func, group};

/// Name of a job parameter function.
pub fn function_name(function: u8) -> &'static str {
    match function {
        func::CPU_SERVICES => "CPU services",
        func::READ_VAR => "Read Var",
        func::WRITE_VAR => "Write Var",
        func::REQUEST_DOWNLOAD => "Request Download",
        func::DOWNLOAD_BLOCK => "Download Block",
        func::DOWNLOAD_ENDED => "Download Ended",
        func::START_UPLOAD => "Start Upload",
        func::UPLOAD => "Upload",
        func::END_UPLOAD => "End Upload",
        func::PI_SERVICE => "PI Service",
        func::PLC_STOP => "PLC Stop",
        func::SETUP_COMMUNICATION => "Setup Communication",
        _ => "Unknown",
    }
}

/// Name of a userdata function group.
pub fn group_name(g: u8) -> &'static str {
    match g {
        group::MODE_TRANSITION => "Mode transition",
        group::PROGRAMMER => "Programmer commands",
        group::CYCLIC => "Cyclic services",
        group::BLOCK => "Block functions",
        group::CPU => "CPU functions",
        group::SECURITY => "Security",
        group::PBC => "PBC BSEND/BRECV",
        group::TIME => "Time functions",
        group::NC => "NC programming",
        _ => "Unknown",
    }
}

/// Siemens letter(s) of a memory area: `I`, `Q`, `M`, `DB`, `DI`, `L`, `V`, `P`, `C`, `T`.
pub fn area_letter(area: u8) -> Option<&'static str> {
    Some(match area {
        0x80 => "P",
        0x81 => "I",
        0x82 => "Q",
        0x83 => "M",
        0x84 => "DB",
        0x85 => "DI",
        0x86 => "L",
        0x87 => "V",
        0x1c | 0x1e => "C",
        0x1d | 0x1f => "T",
        _ => return None,
    })
}

/// Block type of a file name or PI argument (`08` OB, `0A` DB, …).
pub fn block_type_name(code: &[u8]) -> Option<&'static str> {
    Some(match code {
        b"08" => "OB",
        b"0A" => "DB",
        b"0B" => "SDB",
        b"0C" => "FC",
        b"0D" => "SFC",
        b"0E" => "FB",
        b"0F" => "SFB",
        _ => return None,
    })
}

/// Operation name of a PI service and whether it changes the program (else it controls the
/// CPU). `parameter` distinguishes hot (`P_PROGRAM`) from cold (`P_PROGRAM "C "`) start.
pub fn pi_operation(service: &[u8], parameter: &[u8]) -> (&'static str, bool) {
    match service {
        b"P_PROGRAM" if parameter.trim_ascii() == b"C" => ("PLC Cold Start", false),
        b"P_PROGRAM" => ("PLC Hot Start", false),
        b"_INSE" => ("Activate Block", true),
        b"_INS2" => ("Activate Block", true),
        b"_DELE" => ("Delete Block", true),
        b"_GARB" => ("Compress Memory", false),
        b"_MODU" => ("Copy RAM to ROM", true),
        b"_CPRP" | b"_CPRPF" => ("PI Service", false),
        _ => ("PI Service", false),
    }
}
